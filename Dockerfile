# Tipline's image. Two stages: `build` installs the Python packages into a virtualenv and
# compiles the message catalogues; the final stage copies only that virtualenv, the
# catalogues and ffmpeg onto the same slim base: no compiler, no pip run, no build
# files. Pin the base by tag (and, for reproducible builds, add its @sha256 digest).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/tipline
WORKDIR /src
COPY pyproject.toml README.md babel.cfg babel-desk.cfg ./
COPY bots bots
COPY conversations conversations
COPY desk desk
COPY locales locales
COPY privacy privacy
COPY review review
COPY storage storage
COPY tipline tipline
RUN /opt/tipline/bin/pip install .
# The catalogues must be complete and faithful (`tipline catalogues check`, run on the
# sources) or the build fails; then they are compiled to .mo files and put next to the
# installed packages, where bots/render.py looks for them.
RUN /opt/tipline/bin/python -m tipline catalogues check \
    && /opt/tipline/bin/pybabel compile -d locales -D tipline --statistics \
    && /opt/tipline/bin/pybabel compile -d locales -D desk --statistics \
    && cp -r locales /opt/tipline/lib/python3.11/site-packages/locales

FROM ${PYTHON_IMAGE}
# ffmpeg (with ffprobe) cleans videos and voice notes (privacy/scrub/media.py): without
# it every one of them is refused. Nothing else from Debian is needed at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 tipline \
    && install -d -o tipline -g tipline -m 0700 /data
COPY --from=build /opt/tipline /opt/tipline
ENV PATH=/opt/tipline/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TIPLINE_DATA_DIR=/data
USER tipline
VOLUME /data
ENTRYPOINT ["tipline"]
