/* Tipline desk: keyboard shortcuts and species suggestions. The desk works without
   this file; with it, 1-9 press an option, 0 skips, Esc goes back, Enter in a text box
   goes on (Shift+Enter: a new line). In a text box, hold Alt for the digits. At a
   species question the matcher's suggestions appear as the operator types (Alt+1..5
   or a click puts one in the box). */
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

  function suggestions(form) {
    var box = form.querySelector("input[data-suggest]");
    var list = document.getElementById("suggestions");
    if (!box || !list) {
      return;
    }
    var timer = null;
    var asked = 0;

    function render(found) {
      list.textContent = "";
      found.forEach(function (suggestion, index) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "suggestion";
        button.dataset.key = String(index + 1);
        var key = document.createElement("kbd");
        key.textContent = "Alt+" + (index + 1);
        var operator = document.createElement("span");
        operator.className = "operator";
        operator.textContent = suggestion.operator;
        var caller = document.createElement("span");
        caller.className = "caller";
        caller.dir = "auto";
        caller.textContent = suggestion.caller;
        var scientific = document.createElement("i");
        scientific.textContent = suggestion.scientific;
        button.append(key, operator, caller, scientific);
        button.addEventListener("click", function () {
          box.value = suggestion.fill;
          list.textContent = "";
          box.focus();
        });
        list.appendChild(button);
      });
    }

    function ask() {
      var typed = box.value.trim();
      var ticket = ++asked;
      if (typed.length < 2) {
        render([]);
        return;
      }
      var body = new URLSearchParams();
      body.append("csrf", form.querySelector("input[name=csrf]").value);
      body.append("q", typed);
      fetch(box.dataset.suggest, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        cache: "no-store",
      })
        .then(function (response) {
          return response.ok ? response.json() : [];
        })
        .then(function (found) {
          if (ticket === asked) {
            render(found);
          }
        })
        .catch(function () {
          render([]);
        });
    }

    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
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

    var quiet = document.querySelector("[data-focus=quiet]");
    if (quiet) {
      quiet.focus({ preventScroll: true });
    }

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
    suggestions(form);
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
