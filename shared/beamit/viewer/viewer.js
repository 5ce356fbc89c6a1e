/* BeamIt patient viewer: vanilla JS + canvas. Images are WADO-RS rendered JPEGs of the
   shared studies, fetched with the session cookie (no store: nothing is kept on the device;
   decoded images live only in this page's memory and are dropped when the session ends). */
(function () {
  "use strict";

  var PRESETS = {
    soft: { center: 40, width: 400 }, lung: { center: -600, width: 1500 },
    bone: { center: 400, width: 1800 }, brain: { center: 40, width: 80 }
  };
  var PREFETCH = 4;
  var $ = function (id) { return document.getElementById(id); };
  var code = decodeURIComponent(location.pathname.split("/")[2] || "");
  var state = {
    challenge: null, manifest: null, study: 0, series: null, slices: [], index: 0,
    window: null, preset: "default", tool: "scroll", zoom: 1, panX: 0, panY: 0,
    images: new Map(), generation: 0, playing: null, ended: false, expiresAt: 0, idleExpiresAt: 0
  };
  var canvas = $("image"), ctx = canvas.getContext("2d");

  function api(method, path, body) {
    var init = { method: method, credentials: "same-origin", cache: "no-store", headers: {} };
    if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (response) {
      if (response.status === 401 && path.indexOf("/s/api/session") !== 0 || response.status === 401 && method === "GET") {
        endSession("Your viewing session has ended. Open the link again to view the images.");
      }
      return response;
    });
  }
  function errorText(response) {
    return response.json().then(function (body) {
      return (body && body.error && body.error.message) || "Something went wrong.";
    }, function () { return "Something went wrong."; });
  }

  // -- verification ---------------------------------------------------------------------------
  function sendCode() {
    $("verify-error").textContent = "";
    $("send").disabled = true;
    api("POST", "/s/api/verification", { code: code }).then(function (response) {
      $("send").disabled = false;
      if (!response.ok) { return errorText(response).then(showVerifyError); }
      return response.json().then(function (body) {
        state.challenge = body.challengeId;
        $("hint").textContent = body.phoneHint;
        $("send").hidden = true;
        $("otp-form").hidden = false;
        $("otp").focus();
      });
    }, function () { $("send").disabled = false; showVerifyError("No connection. Try again."); });
  }
  function showVerifyError(text) { $("verify-error").textContent = text; }
  function checkCode(event) {
    event.preventDefault();
    var otp = $("otp").value.trim();
    $("check").disabled = true;
    api("POST", "/s/api/session", { code: code, challengeId: state.challenge, otp: otp }).then(function (response) {
      $("check").disabled = false;
      if (!response.ok) {
        $("otp").value = "";
        return errorText(response).then(function (text) {
          showVerifyError(text);
          if (response.status === 410) { $("otp-form").hidden = true; $("send").hidden = response.status === 410; }
        });
      }
      $("verify").hidden = true;
      return loadManifest();
    }, function () { $("check").disabled = false; showVerifyError("No connection. Try again."); });
  }

  // -- the session ------------------------------------------------------------------------------
  function loadManifest() {
    return api("GET", "/s/api/session").then(function (response) {
      if (!response.ok) { return; }
      return response.json().then(function (manifest) {
        state.manifest = manifest;
        noteExpiry(manifest);
        $("viewer").hidden = false;
        $("end").hidden = false;
        showStudy(0);
        setInterval(checkStatus, 20000);
        setInterval(tickTimer, 1000);
        tickTimer();
      });
    });
  }
  function noteExpiry(body) {
    state.expiresAt = Date.parse(body.expiresAt);
    state.idleExpiresAt = Date.parse(body.idleExpiresAt);
  }
  function checkStatus() {
    if (state.ended || !state.manifest) { return; }
    api("GET", "/s/api/session/status").then(function (response) {
      if (response.ok) { response.json().then(noteExpiry); }
    }, function () {});
  }
  function tickTimer() {
    if (state.ended) { return; }
    var left = Math.min(state.expiresAt, state.idleExpiresAt) - Date.now();
    if (left <= 0) { checkStatus(); return; }
    var minutes = Math.floor(left / 60000), seconds = Math.floor(left / 1000) % 60;
    $("timer").textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }
  function endSession(text) {
    if (state.ended) { return; }
    state.ended = true;
    stopCine();
    state.generation += 1;
    state.images.forEach(function (bitmap) { if (bitmap && bitmap.close) { bitmap.close(); } });
    state.images.clear();
    state.manifest = null;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    $("series").textContent = "";
    $("study").textContent = "";
    $("viewer").hidden = true;
    $("verify").hidden = true;
    $("end").hidden = true;
    $("download").hidden = true;
    $("timer").textContent = "";
    $("ended-text").textContent = text;
    $("ended").hidden = false;
    document.body.classList.add("session-ended");
  }
  function closeSession() {
    api("DELETE", "/s/api/session").then(function () {
      endSession("You ended the session. Open the link again to view the images.");
    }, function () { endSession("You ended the session."); });
  }

  // -- study, series, slices -------------------------------------------------------------------
  function formatDate(value) {
    return /^\d{8}$/.test(value) ? value.slice(0, 4) + "-" + value.slice(4, 6) + "-" + value.slice(6) : value;
  }
  function showStudy(index) {
    var study = state.manifest.studies[index];
    state.study = index;
    var parts = [study.description || "Study", formatDate(study.date), (study.modalities || []).join(", ")];
    $("study").textContent = parts.filter(Boolean).join(" · ");
    if (state.manifest.allowDownload) {
      $("download").href = "/s/api/studies/" + index + "/download";
      $("download").setAttribute("download", "");
      $("download").hidden = false;
    }
    var list = $("series");
    list.textContent = "";
    state.manifest.studies.forEach(function (s, studyIndex) {
      s.series.forEach(function (series) {
        var button = document.createElement("button");
        button.type = "button";
        button.dataset.series = series.uid;
        var img = document.createElement("img");
        img.alt = "";
        loadThumbnail(img, studyIndex, series.uid);
        var label = document.createElement("span");
        label.className = "label";
        label.textContent = (series.modality ? series.modality + " " : "") + (series.description || "Series") +
          " (" + countFrames(series) + ")";
        button.appendChild(img);
        button.appendChild(label);
        button.addEventListener("click", function () { showSeries(studyIndex, series); });
        list.appendChild(button);
      });
    });
    var first = study.series[0];
    if (first) { showSeries(index, first); }
  }
  function countFrames(series) {
    return series.images.reduce(function (n, image) { return n + image.frames; }, 0);
  }
  function loadThumbnail(img, studyIndex, seriesUID) {
    fetch("/s/api/studies/" + studyIndex + "/series/" + encodeURIComponent(seriesUID) + "/thumbnail",
      { credentials: "same-origin", cache: "no-store", headers: { Accept: "image/jpeg" } })
      .then(function (response) { return response.ok ? response.blob() : null; })
      .then(function (blob) {
        if (!blob || state.ended) { return; }
        var url = URL.createObjectURL(blob);
        img.onload = function () { URL.revokeObjectURL(url); };
        img.src = url;
      }, function () {});
  }
  function showSeries(studyIndex, series) {
    stopCine();
    state.study = studyIndex;
    state.series = series;
    state.slices = [];
    series.images.forEach(function (image) {
      for (var f = 1; f <= image.frames; f++) { state.slices.push({ uid: image.uid, frame: f }); }
    });
    state.index = 0;
    state.window = null;
    state.zoom = 1; state.panX = 0; state.panY = 0;
    selectPreset("default", true);
    Array.prototype.forEach.call($("series").children, function (button) {
      button.classList.toggle("active", button.dataset.series === series.uid);
    });
    reload();
  }
  function windowKey() { return state.window ? state.window.center + "," + state.window.width : "default"; }
  function sliceURL(slice) {
    var url = "/s/api/studies/" + state.study + "/series/" + encodeURIComponent(state.series.uid) + "/instances/" +
      encodeURIComponent(slice.uid) + "/frames/" + slice.frame + "/rendered";
    if (state.window) { url += "?window=" + encodeURIComponent(Math.round(state.window.center) + "," + Math.round(state.window.width)); }
    return url;
  }
  function cacheKey(i) { return state.series.uid + "|" + i + "|" + windowKey(); }

  function fetchSlice(i, generation) {
    var key = cacheKey(i);
    if (state.images.has(key)) { return Promise.resolve(state.images.get(key)); }
    return fetch(sliceURL(state.slices[i]), { credentials: "same-origin", cache: "no-store", headers: { Accept: "image/jpeg" } })
      .then(function (response) {
        if (response.status === 401) { endSession("Your viewing session has ended. Open the link again to view the images."); }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.blob();
      })
      .then(function (blob) { return createImageBitmap(blob); })
      .then(function (bitmap) {
        if (generation !== state.generation) { if (bitmap.close) { bitmap.close(); } return null; }
        state.images.set(key, bitmap);
        return bitmap;
      });
  }
  function reload() {
    state.generation += 1;
    state.images.forEach(function (bitmap) { if (bitmap && bitmap.close) { bitmap.close(); } });
    state.images.clear();
    var generation = state.generation, total = state.slices.length, done = 0, next = 0;
    showProgress(0, total);
    var order = [];
    for (var k = 0; k < total; k++) { order.push((state.index + k) % total); }
    function worker() {
      if (next >= order.length || generation !== state.generation) { return Promise.resolve(); }
      var i = order[next++];
      return fetchSlice(i, generation).then(function () {
        done += 1;
        if (generation === state.generation) {
          showProgress(done, total);
          if (i === state.index) { draw(); }
        }
      }, function () { done += 1; }).then(worker);
    }
    for (var w = 0; w < PREFETCH; w++) { worker(); }
  }
  function showProgress(done, total) {
    var bar = $("progress");
    bar.hidden = done >= total;
    $("progress-bar").style.width = (total ? Math.round(100 * done / total) : 100) + "%";
    $("progress-text").textContent = "Loading " + done + " / " + total;
  }

  // -- drawing ---------------------------------------------------------------------------------------
  function resize() {
    var rect = canvas.getBoundingClientRect(), ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(rect.width * ratio));
    canvas.height = Math.max(1, Math.round(rect.height * ratio));
    draw();
  }
  function draw() {
    if (state.ended || !state.series) { return; }
    var bitmap = state.images.get(cacheKey(state.index));
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (bitmap) {
      var scale = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height) * state.zoom;
      var w = bitmap.width * scale, h = bitmap.height * scale, ratio = window.devicePixelRatio || 1;
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(bitmap, (canvas.width - w) / 2 + state.panX * ratio, (canvas.height - h) / 2 + state.panY * ratio, w, h);
    }
    $("overlay-top").textContent = "Image " + (state.index + 1) + " / " + state.slices.length +
      (state.zoom !== 1 ? "  ·  " + Math.round(state.zoom * 100) + "%" : "");
    $("overlay-wl").textContent = state.window ? "W " + Math.round(state.window.width) + "  L " + Math.round(state.window.center) : "";
    canvas.dataset.slice = String(state.index);
    canvas.dataset.window = windowKey();
    canvas.dataset.ready = bitmap ? "true" : "false";
  }
  function go(delta) {
    if (!state.slices.length) { return; }
    var n = state.slices.length;
    state.index = ((state.index + delta) % n + n) % n;
    draw();
    if (!state.images.has(cacheKey(state.index))) {
      var generation = state.generation, wanted = state.index;
      fetchSlice(wanted, generation).then(function () { if (wanted === state.index) { draw(); } }, function () {});
    }
  }

  // -- window / level ---------------------------------------------------------------------------------
  function baseWindow() {
    return state.window || (state.series && state.series.window) || { center: 40, width: 400 };
  }
  function selectPreset(name, quiet) {
    state.preset = name;
    Array.prototype.forEach.call(document.querySelectorAll(".preset"), function (b) {
      b.classList.toggle("active", b.dataset.preset === name);
    });
    if (quiet) { return; }
    state.window = name === "default" ? null : { center: PRESETS[name].center, width: PRESETS[name].width };
    reload();
  }
  var windowTimer = null;
  function adjustWindow(dx, dy) {
    var base = baseWindow();
    state.window = { center: base.center + dy * 2, width: Math.max(1, base.width + dx * 4) };
    state.preset = "custom";
    Array.prototype.forEach.call(document.querySelectorAll(".preset"), function (b) { b.classList.remove("active"); });
    draw();
    clearTimeout(windowTimer);
    windowTimer = setTimeout(reload, 200);
  }

  // -- cine -------------------------------------------------------------------------------------------
  function stopCine() {
    if (state.playing) { clearInterval(state.playing); state.playing = null; }
    $("play").textContent = "Play";
  }
  function toggleCine() {
    if (state.playing) { stopCine(); return; }
    state.playing = setInterval(function () { go(1); }, 100);
    $("play").textContent = "Pause";
  }

  // -- input ------------------------------------------------------------------------------------------
  var pointers = new Map(), last = null, pinch = null, scrollAccumulator = 0;
  canvas.addEventListener("wheel", function (event) {
    event.preventDefault();
    if (event.ctrlKey || event.shiftKey) {
      state.zoom = Math.min(10, Math.max(0.2, state.zoom * (event.deltaY < 0 ? 1.1 : 1 / 1.1)));
      draw();
      return;
    }
    go(event.deltaY > 0 ? 1 : -1);
  }, { passive: false });
  canvas.addEventListener("pointerdown", function (event) {
    canvas.setPointerCapture(event.pointerId);
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    last = { x: event.clientX, y: event.clientY };
    if (pointers.size === 2) { pinch = pinchState(); }
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!pointers.has(event.pointerId)) { return; }
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pointers.size === 2 && pinch) {
      var now = pinchState();
      state.zoom = Math.min(10, Math.max(0.2, state.zoom * now.distance / pinch.distance));
      state.panX += now.x - pinch.x; state.panY += now.y - pinch.y;
      pinch = now;
      draw();
      return;
    }
    var dx = event.clientX - last.x, dy = event.clientY - last.y;
    last = { x: event.clientX, y: event.clientY };
    if (state.tool === "scroll") {
      scrollAccumulator += dy;
      while (Math.abs(scrollAccumulator) >= 12) { go(scrollAccumulator > 0 ? 1 : -1); scrollAccumulator -= 12 * Math.sign(scrollAccumulator); }
    } else if (state.tool === "window") {
      adjustWindow(dx, dy);
    } else if (state.tool === "pan") {
      state.panX += dx; state.panY += dy; draw();
    } else if (state.tool === "zoom") {
      state.zoom = Math.min(10, Math.max(0.2, state.zoom * (1 - dy / 200))); draw();
    }
  });
  function pointerUp(event) {
    pointers.delete(event.pointerId);
    if (pointers.size < 2) { pinch = null; }
  }
  canvas.addEventListener("pointerup", pointerUp);
  canvas.addEventListener("pointercancel", pointerUp);
  function pinchState() {
    var p = Array.from(pointers.values());
    return { distance: Math.max(1, Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y)), x: (p[0].x + p[1].x) / 2, y: (p[0].y + p[1].y) / 2 };
  }
  document.addEventListener("keydown", function (event) {
    if (!state.series || state.ended || event.target.tagName === "INPUT") { return; }
    var keys = { ArrowDown: 1, ArrowRight: 1, PageDown: 5, ArrowUp: -1, ArrowLeft: -1, PageUp: -5 };
    if (event.key in keys) { event.preventDefault(); go(keys[event.key]); }
    else if (event.key === "Home") { state.index = 0; go(0); }
    else if (event.key === "End") { state.index = state.slices.length - 1; go(0); }
    else if (event.key === " ") { event.preventDefault(); toggleCine(); }
    else if (event.key === "r") { resetView(); }
  });
  function resetView() {
    state.zoom = 1; state.panX = 0; state.panY = 0;
    if (state.window) { state.window = null; selectPreset("default"); } else { draw(); }
  }
  Array.prototype.forEach.call(document.querySelectorAll(".tool"), function (button) {
    button.addEventListener("click", function () {
      state.tool = button.dataset.tool;
      Array.prototype.forEach.call(document.querySelectorAll(".tool"), function (b) { b.classList.toggle("active", b === button); });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".preset"), function (button) {
    button.addEventListener("click", function () { selectPreset(button.dataset.preset); });
  });
  $("play").addEventListener("click", toggleCine);
  $("reset").addEventListener("click", resetView);
  $("send").addEventListener("click", sendCode);
  $("resend").addEventListener("click", function () { $("otp-form").hidden = true; $("send").hidden = false; sendCode(); });
  $("otp-form").addEventListener("submit", checkCode);
  $("end").addEventListener("click", closeSession);
  window.addEventListener("resize", resize);
  window.addEventListener("focus", checkStatus);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { checkStatus(); } });
  new ResizeObserver(resize).observe(canvas);
})();
