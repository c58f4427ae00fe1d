// Rivet's only script, and every page works without it: it asks before destructive buttons
// (forms with data-confirm) and copies one-time secrets (buttons with data-copy).
"use strict";

document.addEventListener("submit", function (event) {
  var form = event.target;
  var message = form instanceof HTMLFormElement ? form.getAttribute("data-confirm") : null;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

document.addEventListener("click", function (event) {
  var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) {
    return;
  }
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) {
    return;
  }
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    window.setTimeout(function () {
      button.textContent = label;
    }, 2000);
  });
});

// The pipeline board: a deal card is dragged to another stage's column with the pointer (mouse,
// pen or touch) and the move is saved with PATCH /api/v1/deals/{id} {"stage_id"}. Without this
// script each card's "Move to" form does the same through the server. A won/lost stage that needs
// a reason asks for it; a refused move puts the card back and says why.
(function () {
  var board = document.querySelector("[data-board]");
  if (!board) {
    return;
  }
  var csrf = board.getAttribute("data-csrf") || "";
  var status = document.querySelector("[data-board-status]");
  var drag = null;

  function say(message, failed) {
    if (status) {
      status.textContent = message;
      status.classList.toggle("flash-error", Boolean(failed));
      status.hidden = !message;
    }
  }

  function columnAt(x, y) {
    var el = document.elementFromPoint(x, y);
    return el ? el.closest("[data-stage-id]") : null;
  }

  function decimal(text) {
    var n = parseFloat(text || "0");
    return isNaN(n) ? 0 : n;
  }

  // The same rule as the pages' amounts (web/money.rs): groups of three, the currency's
  // decimals, its symbol in front or its code after.
  function money(value) {
    var places = parseInt(board.getAttribute("data-money-decimals") || "2", 10);
    var fixed = Math.abs(value).toFixed(places).split(".");
    var whole = fixed[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var number = fixed.length > 1 ? whole + "." + fixed[1] : whole;
    var sign = value < 0 && Number(fixed.join("")) !== 0 ? "-" : "";
    var symbol = board.getAttribute("data-money-symbol") || "";
    var code = board.getAttribute("data-money-code") || "";
    return sign + symbol + number + (symbol || !code ? "" : " " + code);
  }

  // Column headers count every deal of the stage (the board may show fewer): a move shifts one
  // deal's count and weighted amount from one header to the other.
  function shift(column, count, weighted) {
    var countEl = column.querySelector("[data-count]");
    var sumEl = column.querySelector("[data-weighted]");
    if (countEl) {
      var n = parseInt(countEl.getAttribute("data-count"), 10) + count;
      countEl.setAttribute("data-count", String(n));
      countEl.textContent = String(n);
    }
    if (sumEl) {
      var w = decimal(sumEl.getAttribute("data-weighted")) + weighted;
      sumEl.setAttribute("data-weighted", w.toFixed(6));
      sumEl.textContent = money(w);
    }
  }

  function showEmpty() {
    board.querySelectorAll("[data-stage-id]").forEach(function (column) {
      var empty = column.querySelector("[data-empty]");
      if (empty) {
        empty.hidden = column.querySelectorAll("[data-deal-id]").length > 0;
      }
    });
  }

  function save(card, column, from, reason) {
    var body = { stage_id: column.getAttribute("data-stage-id") };
    if (reason) {
      body.close_reason = reason;
    }
    say("Saving…", false);
    fetch("/api/v1/deals/" + card.getAttribute("data-deal-id"), {
      method: "PATCH",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (json) {
        return { ok: response.ok, json: json };
      }, function () {
        return { ok: response.ok, json: {} };
      });
    }).then(function (result) {
      if (result.ok) {
        var amount = decimal(card.getAttribute("data-amount"));
        var before = decimal(card.getAttribute("data-probability"));
        shift(from.closest("[data-stage-id]"), -1, -amount * before / 100);
        shift(column, 1, amount * result.json.probability / 100);
        card.setAttribute("data-probability", String(result.json.probability));
        var probability = card.querySelector("[data-card-probability]");
        if (probability) {
          probability.textContent = result.json.probability + " %";
        }
        var select = card.querySelector("select[name=stage_id]");
        if (select) {
          select.value = column.getAttribute("data-stage-id");
        }
        say("Moved " + (result.json.name || "the deal") + " to " + column.getAttribute("data-stage-name") + ".", false);
        return;
      }
      var errors = result.json.errors || [];
      var needsReason = errors.some(function (e) { return e.field === "close_reason"; });
      if (needsReason && !reason) {
        var given = window.prompt("Why was this deal " + column.getAttribute("data-stage-name") + "?");
        if (given) {
          save(card, column, from, given);
          return;
        }
      }
      from.appendChild(card);
      showEmpty();
      say((result.json.detail || result.json.title || "The deal could not be moved."), true);
    }, function () {
      from.appendChild(card);
      showEmpty();
      say("The deal could not be moved: the server did not answer.", true);
    });
  }

  board.addEventListener("pointerdown", function (event) {
    var card = event.target instanceof Element ? event.target.closest("[data-deal-id]") : null;
    if (!card || event.button !== 0 || event.target.closest("a, button, select, input, form")) {
      return;
    }
    drag = { card: card, x: event.clientX, y: event.clientY, moving: false, from: card.parentElement, over: null };
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag) {
      return;
    }
    var dx = event.clientX - drag.x;
    var dy = event.clientY - drag.y;
    if (!drag.moving && Math.abs(dx) + Math.abs(dy) < 5) {
      return;
    }
    event.preventDefault();
    drag.moving = true;
    drag.card.classList.add("dragging");
    drag.card.style.transform = "translate(" + dx + "px, " + dy + "px)";
    var column = columnAt(event.clientX, event.clientY);
    if (drag.over && drag.over !== column) {
      drag.over.classList.remove("drop-target");
    }
    if (column) {
      column.classList.add("drop-target");
    }
    drag.over = column;
  });

  document.addEventListener("pointerup", function (event) {
    if (!drag) {
      return;
    }
    var current = drag;
    drag = null;
    current.card.classList.remove("dragging");
    current.card.style.transform = "";
    if (current.over) {
      current.over.classList.remove("drop-target");
    }
    if (!current.moving) {
      return;
    }
    var column = columnAt(event.clientX, event.clientY);
    var from = current.from.closest("[data-stage-id]");
    if (!column || column === from) {
      return;
    }
    column.querySelector("[data-cards]").appendChild(current.card);
    showEmpty();
    save(current.card, column, current.from);
  });
})();

// The lead form: as the e-mail or phone is typed, possible duplicates among the leads and
// contacts the caller may read are shown above the form, with links to them
// (POST /api/v1/duplicates/check). Saving is never held up: the warning only informs.
(function () {
  var form = document.querySelector("form[data-duplicates-of]");
  var box = form ? document.getElementById(form.getAttribute("data-duplicates-of")) : null;
  if (!box) {
    return;
  }
  var fields = ["first_name", "last_name", "email", "phone", "mobile", "company_name", "website"];
  var rules = { exact_email: "the same e-mail address", exact_phone: "the same phone number" };
  var timer = null;
  var asked = "";
  function value(name) {
    var input = form.elements.namedItem(name);
    var text = input && "value" in input ? input.value.trim() : "";
    return text === "" ? null : text;
  }
  function check() {
    var body = {};
    fields.forEach(function (name) {
      body[name] = value(name);
    });
    if (!body.email && !body.phone && !body.mobile) {
      box.hidden = true;
      return;
    }
    var except = box.getAttribute("data-except");
    if (except) {
      body.lead_id = except;
    }
    var json = JSON.stringify(body);
    if (json === asked) {
      return;
    }
    asked = json;
    fetch(box.getAttribute("data-duplicate-check"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRF-Token": box.getAttribute("data-csrf") || "",
        Accept: "application/json",
      },
      body: json,
    })
      .then(function (response) {
        return response.ok ? response.json() : { data: [] };
      })
      .then(function (page) {
        if (json !== asked) {
          return;
        }
        box.textContent = "";
        if (!page.data || page.data.length === 0) {
          box.hidden = true;
          return;
        }
        var title = document.createElement("strong");
        title.textContent = "Possible duplicates";
        box.appendChild(title);
        var list = document.createElement("ul");
        page.data.forEach(function (d) {
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.href = (d.record_type === "contact" ? "/contacts/" : "/leads/") + d.id;
          link.textContent = d.name || d.email || d.id;
          item.appendChild(link);
          item.appendChild(
            document.createTextNode(" (" + d.record_type + ", " + (rules[d.rule] || d.rule) + ")")
          );
          list.appendChild(item);
        });
        box.appendChild(list);
        box.hidden = false;
      })
      .catch(function () {});
  }
  form.addEventListener("input", function (event) {
    var name = event.target && event.target.name;
    if (fields.indexOf(name) < 0) {
      return;
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 400);
  });
  check();
})();

// The web form builder (Administration › Web forms): its preview follows the builder as it is
// filled in — which fields show, their labels, which are required, the consent line.
(function () {
  var form = document.querySelector("form[data-form-builder]");
  var preview = document.querySelector("[data-form-preview]");
  if (!form || !preview) {
    return;
  }
  function update() {
    var name = form.querySelector("input[name=name]");
    var heading = preview.querySelector("[data-preview-name]");
    if (name && heading) {
      heading.textContent = name.value.trim() || "New web form";
    }
    form.querySelectorAll("[data-builder-field]").forEach(function (row) {
      var field = row.getAttribute("data-builder-field");
      var item = preview.querySelector('[data-preview-field="' + field + '"]');
      if (!item) {
        return;
      }
      var shown = row.querySelector('input[name="show_' + field + '"]');
      var label = row.querySelector('input[name="label_' + field + '"]');
      var required = row.querySelector('input[name="required_' + field + '"]');
      item.hidden = !(shown && shown.checked);
      var text = item.querySelector("[data-preview-label]");
      if (text && label) {
        text.textContent = label.value.trim() || text.getAttribute("data-default");
      }
      var star = item.querySelector("[data-preview-required]");
      if (star) {
        star.hidden = !(required && required.checked);
      }
    });
    var consent = form.querySelector("textarea[name=consent_text]");
    var line = preview.querySelector("[data-preview-consent]");
    if (consent && line) {
      line.hidden = consent.value.trim() === "";
      line.querySelector("[data-preview-consent-text]").textContent = consent.value.trim();
    }
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();

// The import wizard. Its upload form posts the file to POST /api/v1/imports (multipart, the CSRF
// token in the header) and opens the new import's page; that page's progress card polls
// GET /api/v1/imports/{id} while the import is queued, running or undoing, moving the bar and the
// counts, and shows the summary when it ends (without this script the page refreshes itself).
(function () {
  var upload = document.querySelector("[data-import-upload]");
  if (upload) {
    upload.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = upload.querySelector("[data-import-upload-error]");
      var button = upload.querySelector("button[type=submit]");
      var say = function (message) {
        error.textContent = message;
        error.hidden = !message;
        button.disabled = false;
      };
      var file = upload.querySelector("input[type=file]");
      if (!file.files || !file.files.length) {
        say("Choose a file to upload.");
        return;
      }
      var body = new FormData();
      body.append("entity", upload.querySelector("select[name=entity]").value);
      body.append("file", file.files[0]);
      button.disabled = true;
      say("");
      fetch("/api/v1/imports", {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": upload.getAttribute("data-csrf") || "" },
      })
        .then(function (response) {
          return response.json().then(function (json) {
            if (response.ok) {
              window.location.assign("/imports/" + json.id);
              return;
            }
            var detail = json.errors && json.errors.length ? json.errors[0].message : json.detail;
            say(detail || "The file could not be uploaded.");
          });
        })
        .catch(function () {
          say("The file could not be uploaded.");
        });
    });
  }

  var card = document.querySelector("[data-import-progress]");
  if (!card) {
    return;
  }
  var busy = ["queued", "running", "undoing"];
  if (busy.indexOf(card.getAttribute("data-status")) < 0) {
    return;
  }
  var id = card.getAttribute("data-import-progress");
  var bar = card.querySelector("[data-import-bar]");
  var status = card.querySelector("[data-import-status]");
  var counts = card.querySelector("[data-import-counts]");
  function poll() {
    fetch("/api/v1/imports/" + id, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (json) {
        if (!json) {
          window.setTimeout(poll, 2000);
          return;
        }
        var percent = json.total_rows > 0 ? Math.floor((json.rows_done * 100) / json.total_rows) : 0;
        bar.value = percent;
        bar.textContent = percent + " %";
        status.textContent = json.status;
        counts.textContent =
          json.rows_done + " of " + json.total_rows + " rows · " + json.created + " created · " +
          json.updated + " updated · " + json.skipped + " skipped · " + json.failed + " failed";
        if (busy.indexOf(json.status) >= 0) {
          window.setTimeout(poll, 500);
        } else {
          // The page's buttons (undo, mapping) depend on the end state: show it as the server does.
          window.location.reload();
        }
      })
      .catch(function () {
        window.setTimeout(poll, 2000);
      });
  }
  window.setTimeout(poll, 300);
})();

// Score badges in lists (links with data-score-popover to a lead's breakdown): a click opens the
// breakdown in a popover under the badge instead of leaving the list; a second click, Escape or a
// click elsewhere closes it. Without this script the link opens the breakdown itself.
(function () {
  function close(except) {
    document.querySelectorAll(".score-popover").forEach(function (pop) {
      if (pop !== except) {
        var badge = pop.previousElementSibling;
        if (badge) {
          badge.setAttribute("aria-expanded", "false");
        }
        pop.remove();
      }
    });
  }
  document.addEventListener("click", function (event) {
    var badge = event.target instanceof Element ? event.target.closest("[data-score-popover]") : null;
    if (!badge) {
      if (!(event.target instanceof Element && event.target.closest(".score-popover"))) {
        close(null);
      }
      return;
    }
    event.preventDefault();
    var open = badge.nextElementSibling;
    if (open && open.classList.contains("score-popover")) {
      close(null);
      return;
    }
    close(null);
    var pop = document.createElement("div");
    pop.className = "score-popover";
    pop.setAttribute("role", "dialog");
    pop.setAttribute("aria-label", "Why this score");
    pop.textContent = "Loading…";
    badge.after(pop);
    badge.setAttribute("aria-expanded", "true");
    fetch(badge.getAttribute("href"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        pop.innerHTML = html;
      })
      .catch(function () {
        pop.textContent = "The breakdown could not be loaded.";
      });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      close(null);
    }
  });
})();

// A select that decides what the rest of its form offers (the workflow builder's record type):
// choosing reloads the page with `?<name>=<value>` (data-reload-on-change).
document.addEventListener("change", function (event) {
  var select = event.target instanceof HTMLSelectElement ? event.target : null;
  if (!select || !select.hasAttribute("data-reload-on-change")) return;
  window.location.search = "?" + encodeURIComponent(select.name) + "=" + encodeURIComponent(select.value);
});
