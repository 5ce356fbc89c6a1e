"""The zero-footprint patient viewer: static files (``index.html``, ``viewer.js``,
``viewer.css``) served by the ``viewer`` function (:mod:`beamit.api.viewer`) as package data.
Vanilla JavaScript and a canvas, no framework, nothing stored on the device."""
