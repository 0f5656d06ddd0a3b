// Kubestats client helpers. No framework, no eval, no inline handlers, so it
// works under the strict CSP (script-src 'self'). Everything but the theme
// bootstrap uses event delegation on `document`, so it also covers content
// that htmx swaps in later, and the file works with or without `defer`.
(function () {
  "use strict";

  // ---- (a) theme: light -> dark -> auto -------------------------------------
  // Pico reads data-theme on <html>; with no attribute it follows the OS
  // (prefers-color-scheme), which is what "auto" means here.
  var KEY = "kubestats-theme";
  var ORDER = ["light", "dark", "auto"];
  var LABEL = { light: "Light", dark: "Dark", auto: "Auto" };
  var root = document.documentElement;

  // localStorage throws in some privacy modes / sandboxed frames: treat as auto.
  function load() {
    try {
      var v = localStorage.getItem(KEY);
      return ORDER.indexOf(v) >= 0 ? v : "auto";
    } catch (e) { return "auto"; }
  }
  function save(mode) {
    try {
      if (mode === "auto") localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, mode);
    } catch (e) { /* not persisted; still applied for this page */ }
  }
  function apply(mode) {
    if (mode === "auto") delete root.dataset.theme;
    else root.dataset.theme = mode;
    labelButtons(mode);
  }
  // Say the current mode (what sighted users see) and hint at the next one.
  function labelButtons(mode) {
    var next = ORDER[(ORDER.indexOf(mode) + 1) % ORDER.length];
    document.querySelectorAll("[data-theme-toggle]").forEach(function (btn) {
      btn.textContent = "Theme: " + LABEL[mode];
      btn.setAttribute("aria-label", "Theme: " + LABEL[mode] + " (switch to " + LABEL[next] + ")");
      btn.title = "Switch to " + LABEL[next] + " theme";
    });
  }

  // Kept in memory too, so cycling works even when storage is unavailable.
  var current = load();

  // Apply immediately, before DOMContentLoaded, to keep the wrong-theme flash
  // as short as a deferred script allows (an inline script is not allowed).
  apply(current);

  // The toggle button may not exist yet (head script) or be swapped by htmx. Copy buttons
  // stay hidden until this script can make them work.
  function ready() {
    labelButtons(current);
    document.querySelectorAll("button[data-copy][hidden]").forEach(function (b) { b.hidden = false; });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
  document.addEventListener("htmx:load", ready);
  // Keep other open tabs in sync.
  window.addEventListener("storage", function (e) { if (e.key === KEY) apply(current = load()); });

  // ---- clicks: theme toggle and flash dismiss -------------------------------
  document.addEventListener("click", function (e) {
    var t = e.target instanceof Element ? e.target : null;
    if (!t) return;

    if (t.closest("[data-theme-toggle]")) {
      current = ORDER[(ORDER.indexOf(current) + 1) % ORDER.length];
      save(current);
      apply(current);
      return;
    }

    // ---- copy buttons: button[data-copy] copies the value of the field it names.
    var copy = t.closest("button[data-copy]");
    if (copy) {
      var field = document.getElementById(copy.dataset.copy);
      var status = document.querySelector('[data-copy-status="' + copy.dataset.copy + '"]');
      if (!field) return;
      field.select();
      var settled = false;
      var done = function (ok) {
        if (settled) return;
        settled = true;
        copy.textContent = ok ? "Copied" : "Press Ctrl+C";
        if (status) status.textContent = ok ? "Copied to the clipboard." : "Selected: press Ctrl+C to copy.";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () { done(false); });
        setTimeout(function () { done(false); }, 2000); // a permission prompt nobody answers
      } else {
        done(false); // the clipboard API needs https; the text is selected for the keyboard
      }
      return;
    }

    // ---- (c) flash close: remove the whole message, not just the button.
    var dismiss = t.closest(".flash [data-dismiss]");
    if (dismiss) {
      e.preventDefault(); // in case it is a link or a submit button
      dismiss.closest(".flash").remove();
    }
  });

  // ---- (b) confirmation for form[data-confirm] ------------------------------
  // Capture phase on document runs before any listener on the form itself
  // (htmx binds hx-post forms there), so a refusal stops both a normal submit
  // and an htmx request.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
    if (!window.confirm(form.dataset.confirm)) {
      e.preventDefault();
      e.stopPropagation();
    }
  }, true);
})();
