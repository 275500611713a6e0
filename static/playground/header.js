// The header shows the tempo in force now. The server tells every open page of the playground when it changes
// (app.js turns the feed's message into a `kubeplay:tempo` event); this keeps the header and the tempo buttons true.
(() => {
  "use strict";

  const body = document.body;
  body.addEventListener("kubeplay:tempo", (e) => {
    const { tempo, paused } = e.detail;
    body.dataset.tempo = tempo;
    body.dataset.paused = paused ? "1" : "0";
    const now = document.getElementById("tempo-now");
    if (now) {
      now.querySelector(".tempo-name").textContent = now.dataset[tempo] || tempo;
      now.querySelector(".tempo-paused").textContent = paused ? ` · ${now.dataset.pausedWord}` : "";
      now.dataset.tempo = tempo;
      now.dataset.pausedNow = paused ? "1" : "0";
    }
    const form = document.getElementById("tempo");
    if (!form) return; // a read-only page has no tempo controls
    for (const b of form.querySelectorAll("button[name=tempo]")) {
      if (["pause", "resume"].includes(b.value)) {
        b.value = paused ? "resume" : "pause";
        b.textContent = paused ? form.dataset.resume : form.dataset.pause;
        b.classList.toggle("paused", paused);
      } else if (b.value !== "step") {
        b.setAttribute("aria-pressed", b.value === tempo ? "true" : "false");
      }
    }
    const state = form.querySelector(".tempo-state");
    if (state) state.textContent = paused ? form.dataset.pausedWord : "";
  });
})();
