// Herald's own script: small helpers that htmx does not cover. No inline
// handlers are used anywhere, so the CSP can forbid inline script.
(function () {
  "use strict";
  // A form with data-confirm asks before it is submitted, for actions that
  // cannot be undone, such as deleting a relay.
  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) {
      ev.preventDefault();
      return;
    }
    // So does a form's button with data-confirm, such as "Send now".
    var btn = ev.submitter;
    if (btn && btn.hasAttribute("data-confirm") && !window.confirm(btn.getAttribute("data-confirm"))) {
      ev.preventDefault();
      return;
    }
    // A bulk form asks before the one action that cannot be undone.
    form = ev.target.closest("form[data-confirm-action]");
    if (form && form.elements.action && form.elements.action.value === form.getAttribute("data-confirm-action") &&
        !window.confirm("Delete the chosen contacts and their history? This cannot be undone.")) {
      ev.preventDefault();
    }
  }, true);

  // A button with data-insert puts its text into the textarea named by
  // data-target, at the cursor, and lets htmx know the form changed.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-insert]");
    if (!btn) return;
    var area = document.getElementById(btn.getAttribute("data-target"));
    if (!area) return;
    var text = btn.getAttribute("data-insert");
    var start = area.selectionStart || 0, end = area.selectionEnd || 0;
    area.value = area.value.slice(0, start) + text + area.value.slice(end);
    area.selectionStart = area.selectionEnd = start + text.length;
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // A button with data-copy="ID" copies the text of element ID; with
  // data-copy-log="URL" it also posts to URL, which writes the copy down.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    var log = btn.getAttribute("data-copy-log");
    if (log) {
      var headers = {};
      try { headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) {}
      fetch(log, { method: "POST", headers: headers, credentials: "same-origin", keepalive: true });
    }
    var el = document.getElementById(btn.getAttribute("data-copy"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      var label = btn.textContent;
      btn.textContent = "Copied";
      setTimeout(function () { btn.textContent = label; }, 2000);
    });
  });

  // Proof of work for sign-up forms that ask for it: find a nonce whose
  // SHA-256 with the server's challenge starts with enough zero bits. It runs
  // in the browser only, with no third party, and costs a person a moment.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-pow]") || form.elements.pow_nonce.value) return;
    ev.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.textContent = "One moment…"; }
    var challenge = form.getAttribute("data-pow");
    var bits = parseInt(form.getAttribute("data-pow-bits"), 10);
    var nonce = 0;
    (function work() {
      for (var end = nonce + 20000; nonce < end; nonce++) {
        if (zeroBits(sha256(challenge + ":" + nonce)) >= bits) {
          form.elements.pow_nonce.value = String(nonce);
          form.submit();
          return;
        }
      }
      setTimeout(work, 0);
    })();
  });

  function zeroBits(h) {
    var n = 0;
    for (var i = 0; i < h.length; i++) {
      if (h[i] === 0) { n += 32; continue; }
      return n + Math.clz32(h[i]);
    }
    return n;
  }

  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ];

  // sha256 hashes an ASCII string and returns the digest as eight 32-bit words.
  function sha256(str) {
    var len = str.length, words = [], i;
    for (i = 0; i < len; i++) words[i >> 2] |= (str.charCodeAt(i) & 0xff) << (24 - (i % 4) * 8);
    words[len >> 2] |= 0x80 << (24 - (len % 4) * 8);
    var total = (((len + 8) >> 6) + 1) * 16;
    for (i = words.length; i < total; i++) words[i] = words[i] | 0;
    words[total - 1] = len * 8;
    var h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    var w = new Array(64);
    for (var off = 0; off < total; off += 16) {
      for (i = 0; i < 16; i++) w[i] = words[off + i] | 0;
      for (i = 16; i < 64; i++) {
        var a = w[i - 15], b = w[i - 2];
        var s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        var s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      var A = h[0], B = h[1], C = h[2], D = h[3], E = h[4], F = h[5], G = h[6], H = h[7];
      for (i = 0; i < 64; i++) {
        var S1 = ((E >>> 6) | (E << 26)) ^ ((E >>> 11) | (E << 21)) ^ ((E >>> 25) | (E << 7));
        var ch = (E & F) ^ (~E & G);
        var t1 = (H + S1 + ch + K[i] + w[i]) | 0;
        var S0 = ((A >>> 2) | (A << 30)) ^ ((A >>> 13) | (A << 19)) ^ ((A >>> 22) | (A << 10));
        var maj = (A & B) ^ (A & C) ^ (B & C);
        var t2 = (S0 + maj) | 0;
        H = G; G = F; F = E; E = (D + t1) | 0; D = C; C = B; B = A; A = (t1 + t2) | 0;
      }
      h[0] = (h[0] + A) | 0; h[1] = (h[1] + B) | 0; h[2] = (h[2] + C) | 0; h[3] = (h[3] + D) | 0;
      h[4] = (h[4] + E) | 0; h[5] = (h[5] + F) | 0; h[6] = (h[6] + G) | 0; h[7] = (h[7] + H) | 0;
    }
    for (i = 0; i < 8; i++) h[i] = h[i] >>> 0;
    return h;
  }

  // Preview frames keep the width an email client gives the message and are
  // scaled down, not squeezed, when the card is narrower.
  function fitPreviews() {
    document.querySelectorAll(".preview-stage").forEach(function (stage) {
      var frame = stage.querySelector(".preview-frame");
      if (!frame) return;
      frame.style.transform = "";
      var width = frame.offsetWidth, room = stage.clientWidth;
      var scale = width > room && width > 0 ? room / width : 1;
      frame.style.marginLeft = scale < 1 ? "0" : "";
      frame.style.transform = scale < 1 ? "scale(" + scale + ")" : "";
      stage.style.height = scale < 1 ? Math.ceil(frame.offsetHeight * scale) + "px" : "";
    });
  }
  window.addEventListener("resize", fitPreviews);
  document.addEventListener("change", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("preview-toggle")) fitPreviews();
  });
  document.addEventListener("htmx:afterSettle", fitPreviews);
  document.addEventListener("DOMContentLoaded", fitPreviews);
})();
