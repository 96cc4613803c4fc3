/* Tipline desk: keyboard shortcuts. The desk works without this file; with it,
   1-9 press an option, 0 skips, Esc goes back, Enter in a text box goes on
   (Shift+Enter: a new line). In a text box, hold Alt for the digits. */
(function () {
  "use strict";

  function pressKey(form, key) {
    var button = form.querySelector('button[data-key="' + key + '"]');
    if (button) {
      button.click();
      return true;
    }
    return false;
  }

  function typing(element) {
    if (!element || !element.tagName) {
      return false;
    }
    var tag = element.tagName;
    return tag === "TEXTAREA" || (tag === "INPUT" && element.type !== "hidden");
  }

  function digit(event) {
    if (/^Digit[0-9]$/.test(event.code || "")) {
      return event.code.slice(5);
    }
    return /^[0-9]$/.test(event.key) ? event.key : null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var sent = false;
    document.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (sent) {
          event.preventDefault(); // one answer per press, however fast the keys
        }
        sent = true;
      });
    });

    var select = document.getElementById("lang");
    if (select) {
      select.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          select.form.requestSubmit();
        }
      });
    }

    var form = document.getElementById("answer");
    if (!form) {
      return;
    }
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.isComposing) {
        return;
      }
      var target = event.target;
      var inField = typing(target);
      if (event.key === "Escape") {
        // In the country box Esc first closes the suggestions.
        if (inField && target.list && target.value) {
          return;
        }
        if (pressKey(form, "Escape")) {
          event.preventDefault();
        }
        return;
      }
      if (inField && !event.altKey) {
        if (event.key === "Enter" && target.tagName === "TEXTAREA" && !event.shiftKey) {
          event.preventDefault();
          var next = document.getElementById("next");
          if (next) {
            next.click();
          }
        }
        return;
      }
      var key = digit(event);
      if (key !== null && pressKey(form, key)) {
        event.preventDefault();
      }
    });
  });
})();
