FROM python:3.11-slim-bookworm
# ffmpeg (with ffprobe) cleans videos and voice notes (privacy/scrub/media.py): without
# it every one of them is refused. Nothing else from Debian is needed at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 tipline
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bots bots
COPY conversations conversations
COPY desk desk
COPY locales locales
COPY privacy privacy
COPY review review
COPY storage storage
COPY tipline tipline
RUN pip install --no-cache-dir .
USER tipline
ENV TIPLINE_DATA_DIR=/data
ENTRYPOINT ["tipline"]
