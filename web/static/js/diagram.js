// Draw a deployed diagram with bpmn-js's viewer and mark where an application has been and is now.
(function () {
  const el = WebirDom.el;
  // Strings in the UI language, put on the page by the server (_client_text.html); Chinese when absent.
  const TEXT = Object.assign({ overdue: '逾期 {days} 天', noHolder: '尚無承辦人', median: '中位數 {median} 天', sep: '、',
    zoomIn: '放大', zoomOut: '縮小', fit: '符合畫面', zoom: '縮放',
    'rewound.send_back': '退回至此重辦（第 {round} 次）', 'rewound.recall': '取回重辦（第 {round} 次）' },
    window.WebirText || {});
  function text(key, values) {
    return TEXT[key].replace(/{(\w+)}/g, (_, name) => (values && name in values ? values[name] : `{${name}}`));
  }

  // Zoom in, out and back to the whole diagram: a long chain fitted into the box is too small to read.
  function zoomButtons(container, viewer) {
    const canvas = viewer.get('canvas');
    const button = (label, action, onClick) => {
      const b = el('button', { type: 'button', 'data-action': action }, [label]);
      b.addEventListener('click', onClick);
      return b;
    };
    const zoomBy = step => canvas.zoom(Math.min(4, Math.max(0.2, canvas.zoom() * step)));
    container.before(el('div', { class: 'diagram-zoom', role: 'group', 'aria-label': TEXT.zoom }, [
      button(TEXT.zoomIn, 'zoom-in', () => zoomBy(1.25)), button(TEXT.zoomOut, 'zoom-out', () => zoomBy(0.8)),
      button(TEXT.fit, 'fit', () => canvas.zoom('fit-viewport', 'auto'))]));
  }

  // Printing gives the diagram a page-wide box (print.css): fit the whole drawing into it, and back after.
  function fitWhenPrinting(viewer) {
    const canvas = viewer.get('canvas');
    const fit = () => { canvas.resized(); canvas.zoom('fit-viewport', 'auto'); };
    window.matchMedia('print').addEventListener('change', fit);
    window.addEventListener('beforeprint', fit);
    window.addEventListener('afterprint', fit);
  }

  async function draw(container, xmlUrl) {
    const viewer = new BpmnJS({ container });
    const xml = await (await fetch(xmlUrl, { credentials: 'same-origin' })).text();
    await viewer.importXML(xml);
    viewer.get('canvas').zoom('fit-viewport', 'auto');
    zoomButtons(container, viewer);
    container.viewer = viewer;  // tests and the console reach the viewer through the element
    fitWhenPrinting(viewer);
    return viewer;
  }

  function connectionsBetween(registry, source, target) {
    return registry.filter(e => e.waypoints && e.source && e.target && e.source.id === source && e.target.id === target);
  }

  // Application page: finished nodes and flows green, current steps orange with who holds them.
  async function showTrail(container, trailUrl) {
    const trail = await (await fetch(trailUrl, { credentials: 'same-origin' })).json();
    const viewer = await draw(container, trail.xml);
    const canvas = viewer.get('canvas'), registry = viewer.get('elementRegistry'), overlays = viewer.get('overlays');
    trail.done.forEach(id => registry.get(id) && canvas.addMarker(id, 'done'));
    trail.flows.forEach(([a, b]) => connectionsBetween(registry, a, b).forEach(c => canvas.addMarker(c.id, 'done')));
    // Send-backs and recalls: the step the case went back to carries a note per round.
    (trail.rewinds || []).forEach((r, n) => {
      if (!registry.get(r.to)) return;
      canvas.addMarker(r.to, 'rewound');
      overlays.add(r.to, 'rewind', { position: { bottom: 14, left: -10 },
        html: el('div', { class: 'rewind-note', 'data-kind': r.kind }, [text('rewound.' + r.kind, { round: n + 1 })]) });
    });
    trail.current.forEach(t => {
      if (!registry.get(t.step)) return;
      canvas.removeMarker(t.step, 'done');
      canvas.addMarker(t.step, 'current-step');
      const note = el('div', { class: 'holder-note' }, [t.holders.join(TEXT.sep) || text('noHolder'), el('br'), t.since_text]);
      if (t.overdue_days !== null) note.append(el('div', { class: 'late' }, [text('overdue', { days: t.overdue_days })]));
      overlays.add(t.step, 'holder', { position: { top: -46, left: -10 }, html: note });
    });
    container.dataset.ready = 'true';
    return viewer;
  }

  // Dashboard: a count badge and a heat colour per step.
  async function showBadges(container, xmlUrl, badges) {
    const viewer = await draw(container, xmlUrl);
    const canvas = viewer.get('canvas'), registry = viewer.get('elementRegistry'), overlays = viewer.get('overlays');
    const max = Math.max(1, ...Object.values(badges).map(b => b.count));
    Object.entries(badges).forEach(([step, b]) => {
      if (!registry.get(step)) return;
      canvas.addMarker(step, 'heat-' + Math.min(4, Math.ceil(4 * b.count / max)));
      overlays.add(step, 'count', { position: { top: -12, right: 12 }, html: el('div', {
        class: 'count-badge', 'data-step': step, title: text('median', { median: b.median }) }, [b.count]) });
    });
    container.dataset.ready = 'true';
    return viewer;
  }

  // The page says what to draw in data-* attributes; nothing inline starts it (the CSP runs no inline script).
  document.addEventListener('DOMContentLoaded', () => {
    document.querySelectorAll('.diagram[data-trail]').forEach(el => showTrail(el, el.dataset.trail));
    document.querySelectorAll('.diagram[data-badges]').forEach(el =>
      showBadges(el, el.dataset.xml, JSON.parse(el.dataset.badges)));
  });

  window.WebirDiagram = { showTrail, showBadges };
})();
