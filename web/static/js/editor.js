// The administrators' diagram editor and version diff. The modeler comes from the local bundle (AppModeler).
(function () {
  const MAX_UPLOAD_BYTES = 2 * 1024 * 1024;
  const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;
  const t = (key, values) => EditorI18n.text(key, values);

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
    });
    const data = await response.json().catch(() => ({ detail: t('serverStatus', { status: response.status }) }));
    return { status: response.status, data };
  }

  const el = WebirDom.el;

  // A problem reported on a process id is shown on the pool that draws it.
  function shapeFor(registry, id) {
    if (!id) return null;
    return registry.get(id) || registry.find(e => e.businessObject && e.businessObject.processRef
      && e.businessObject.processRef.id === id) || null;
  }

  // An approval step carries a reminder (notify holder) and an escalation (notify superior) boundary timer.
  function notifyTargets(element) {
    return (element.attachers || []).filter(a => a.type === 'bpmn:BoundaryEvent'
      && (a.businessObject.eventDefinitions || []).some(d => d.$type === 'bpmn:TimerEventDefinition'))
      .flatMap(a => (a.businessObject.extensionElements?.values || []).flatMap(v => v.properties || []))
      .filter(p => p.name === 'notify').map(p => p.value);
  }

  function stepsWithoutTimers(registry) {
    return registry.filter(e => e.type === 'bpmn:UserTask').filter(e => {
      const targets = notifyTargets(e);
      return !targets.includes('holder') || !targets.includes('superior');
    });
  }

  function labelOf(element, id) {
    const name = element && element.businessObject && element.businessObject.name;
    return name ? `${name}（${id}）` : (id || t('wholeDiagram'));
  }

  class Editor {
    constructor(root) {
      this.root = root;
      this.status = root.querySelector('.status');
      this.list = root.querySelector('.problem-list');
      this.modeler = AppModeler.createModeler({
        container: root.querySelector('#canvas'), properties: root.querySelector('#properties'),
        translate: EditorI18n.translate, options: JSON.parse(root.dataset.options),
      });
      this.problemOverlays = [];
      this.importError = null;  // set while the last opened file could not be read: nothing to check then
      this.importWarnings = [];
      root.editor = this;  // tests and the console reach the modeler through the element
    }

    get(service) { return this.modeler.get(service); }

    say(text, kind) {
      this.status.textContent = text;
      this.status.className = `status ${kind || ''}`;
    }

    // Open a diagram; its import warnings stay in the problem list until the next check. A file that
    // cannot be read leaves nothing to check, save or deploy (the previous diagram is not what was opened).
    async load(xml) {
      try {
        const { warnings } = await this.modeler.importXML(xml);
        this.importError = null;
        this.importWarnings = warnings.map(w => ({ id: w.element?.id || null, message: w.message }));
        this.fit();
        this.clearProblems();
        this.root.dataset.ready = 'true';
        if (warnings.length) {
          this.renderList(this.importWarnings.map(w => ({ ...w, element: null, severity: 'warning' })));
          this.say(t('loadedWithWarnings', { count: warnings.length }), 'error');
        }
        return true;
      } catch (error) {
        this.importError = error.message;
        this.importWarnings = [];
        this.clearProblems();
        this.renderList([{ id: null, element: null, message: t('cannotOpen', { error: error.message }), severity: 'error' }]);
        this.say(t('cannotOpen', { error: error.message }), 'error');
        return false;
      }
    }

    fit() {
      const canvas = this.get('canvas');
      canvas.zoom('fit-viewport', 'auto');
      canvas.scroll({ dx: 70, dy: 0 });  // fit-viewport puts the left edge under the palette
    }

    zoom(step) {
      const canvas = this.get('canvas');
      canvas.zoom(Math.min(4, Math.max(0.2, canvas.zoom() * step)));
    }

    toggleSimulation() {
      const active = !this.root.classList.contains('simulating');
      this.get('toggleMode').toggleMode(active);
    }

    // Refuse to act on a diagram that did not open: say why, and show it as the check result.
    refuseBrokenImport() {
      if (!this.importError) return false;
      this.renderList([{ id: null, element: null, message: t('cannotOpen', { error: this.importError }), severity: 'error' }]);
      this.say(t('cannotOpen', { error: this.importError }), 'error');
      return true;
    }

    async xml() {
      return (await this.modeler.saveXML({ format: true })).xml;
    }

    clearProblems() {
      const canvas = this.get('canvas');
      this.problemOverlays.forEach(({ overlay, id }) => {
        this.get('overlays').remove(overlay);
        canvas.removeMarker(id, 'has-problem');
      });
      this.problemOverlays = [];
    }

    // Lint findings (client) and server problems: a list in plain words, and a badge on each element.
    showProblems(lintIssues, serverProblems) {
      this.clearProblems();
      const registry = this.get('elementRegistry');
      const items = [], seen = new Set();
      const add = (id, message, severity, badge) => {
        const key = `${id}|${message}`;
        if (seen.has(key)) return;
        seen.add(key);
        const element = shapeFor(registry, id);
        items.push({ id, element, message, severity });
        if (badge && element) this.badge(element, message);
      };
      lintIssues.forEach(i => add(i.id, i.own ? i.message : EditorI18n.lintMessage(i.rule, i.message),
        i.category === 'error' ? 'error' : 'warning', false));
      serverProblems.forEach(p => add(p.element, p.message, 'error', true));
      this.renderList(items);
      return items.filter(i => i.severity === 'error').length;
    }

    badge(element, message) {
      const overlays = this.get('overlays');
      this.get('canvas').addMarker(element.id, 'has-problem');
      const overlay = overlays.add(element.id, 'problem', {
        position: { top: -10, right: 10 },
        html: el('div', { class: 'problem-badge', title: message, 'data-element': element.id }, ['!']),
      });
      this.problemOverlays.push({ overlay, id: element.id });
    }

    renderList(items) {
      if (!items.length) {
        this.list.replaceChildren(el('li', { class: 'ok' }, [t('noProblems')]));
        return;
      }
      this.list.replaceChildren(...items.map(item => el('li', { class: item.severity, 'data-element': item.id || '' },
        [item.element ? this.elementButton(item.element, item.id) : labelOf(null, item.id), t('colon'), item.message])));
    }

    elementButton(element, id) {
      const button = el('button', { type: 'button', class: 'element' }, [labelOf(element, id)]);
      button.addEventListener('click', () => {
        this.get('selection').select(element);
        this.get('canvas').scrollToElement(element);
      });
      return button;
    }

    // The server's simulation: one row per path (steps with decisions, then how it ends), built as text.
    renderPaths(paths) {
      let table = this.root.querySelector('table.path-table');
      if (!table) {
        table = Object.assign(document.createElement('table'), { className: 'path-table' });
        this.list.after(table);
      }
      table.replaceChildren();
      if (!paths || !paths.length) return;
      table.createCaption().textContent = t('pathsTitle', { count: paths.length });
      const head = table.createTHead().insertRow();
      for (const key of ['pathSteps', 'pathEnd']) head.appendChild(document.createElement('th')).textContent = t(key);
      const body = table.createTBody();
      for (const path of paths) {
        const row = body.insertRow();
        row.className = `path-${path.end}`;
        row.insertCell().textContent = (path.variant ? `[${path.variant}] ` : '')
          + [t('filed'), ...path.steps.map(step => step.label)].join(' → ');
        row.insertCell().textContent = path.end_label;
      }
    }

    async check() {
      if (this.refuseBrokenImport()) return 1;
      this.say(t('checking'));
      try {
        return await this.runCheck();
      } catch (error) {  // never leave 檢查中… on the page
        this.say(t('checkFailed'), 'error');
        return 1;
      }
    }

    async runCheck() {
      const lintIssues = [...await AppModeler.lint(this.modeler),
        ...this.importWarnings.map(w => ({ id: w.id, message: w.message, category: 'warn', rule: 'import', own: true })),
        ...stepsWithoutTimers(this.get('elementRegistry')).map(e => ({ id: e.id, message: t('missingTimers'),
          category: 'warn', rule: 'approval-timers', own: true }))];
      const { status, data } = await postJSON(this.root.dataset.checkUrl, { xml: await this.xml() });
      if (status >= 400) {
        this.say(data.detail || t('checkFailed'), 'error');
        return this.showProblems(lintIssues, data.problems || []) || 1;
      }
      const errors = this.showProblems(lintIssues, data.problems);
      this.renderPaths(data.paths);
      this.say(errors ? t('errorsFound', { count: errors }) : t('checkPassed'), errors ? 'error' : 'success');
      return errors;
    }

    async saveDraft() {
      if (this.refuseBrokenImport()) return;
      const { status, data } = await postJSON(this.root.dataset.draftUrl, {
        xml: await this.xml(), note: this.note(), base_version: Number(this.root.dataset.baseVersion) || null,
        draft: this.draftId(),
      });
      if (status >= 400) return this.say(data.detail || t('cannotSaveDraft'), 'error');
      const time = new Date().toLocaleTimeString(EditorI18n.english ? 'en' : 'zh-TW');
      this.say(t('draftSaved', { time }), 'success');
      this.root.dataset.draftId = data.id;
      history.replaceState(null, '', data.url);
    }

    // The draft open here, when it is this administrator's own: saves and deploys name it, and the
    // server refuses them for another administrator's draft (which opens read-only, without these buttons).
    draftId() { return Number(this.root.dataset.draftId) || null; }

    note() { return this.root.querySelector('#deploy-note').value.trim(); }

    async deploy() {
      if (!this.note()) {
        this.say(t('noteRequired'), 'error');
        this.root.querySelector('#deploy-note').focus();
        return;
      }
      if (await this.check()) return;
      this.say(t('deploying'));
      const { status, data } = await postJSON(this.root.dataset.deployUrl,
        { xml: await this.xml(), note: this.note(), draft: this.draftId() });
      if (status === 422 && data.problems) {
        this.showProblems([], data.problems);
        this.renderPaths(data.paths);
        return this.say(data.detail || data.message || t('notPassed'), 'error');
      }
      if (status >= 400) return this.say(data.detail || t('deployFailed', { status }), 'error');
      this.say(t(data.created ? 'deployed' : 'sameAsVersion', { version: data.version }), 'success');
      window.location.assign(data.history);
    }

    async upload(input) {
      const file = input.files[0];
      input.value = '';
      if (!file) return;
      if (file.size > MAX_UPLOAD_BYTES) return this.say(t('tooLarge'), 'error');
      if (!await this.load(await file.text())) return;
      const count = this.importWarnings.length;
      if (count) this.say(`${t('opened', { name: file.name })} ${t('loadedWithWarnings', { count })}`, 'error');
      else this.say(t('opened', { name: file.name }), 'success');
    }

    async download() {
      if (this.refuseBrokenImport()) return;
      const blob = new Blob([await this.xml()], { type: 'application/xml' });
      const link = Object.assign(document.createElement('a'), {
        href: URL.createObjectURL(blob), download: `${this.root.dataset.key}.bpmn`,
      });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    }

    bind() {
      const on = (action, event, handler) => {
        const control = this.root.querySelector(`[data-action="${action}"]`);
        if (control) control.addEventListener(event, e => handler(e));  // a read-only draft has no save or deploy
      };
      on('check', 'click', () => this.check());
      on('save-draft', 'click', () => this.saveDraft());
      on('download', 'click', () => this.download());
      on('deploy', 'click', () => this.deploy());
      on('upload', 'change', e => this.upload(e.target));
      on('zoom-in', 'click', () => this.zoom(1.25));
      on('zoom-out', 'click', () => this.zoom(0.8));
      on('fit', 'click', () => this.fit());
      on('simulate', 'click', () => this.toggleSimulation());
      EditorI18n.localizeSimulation(this.root);
      this.get('eventBus').on('tokenSimulation.toggleMode', ({ active }) => {
        this.root.classList.toggle('simulating', active);
        const button = this.root.querySelector('[data-action="simulate"]');
        if (button) button.setAttribute('aria-pressed', String(active));
      });
    }
  }

  async function openEditor(root) {
    const editor = new Editor(root);
    editor.bind();
    const response = await fetch(root.dataset.xmlUrl, { credentials: 'same-origin' });
    if (!response.ok) return editor.say(t('cannotLoad'), 'error');
    await editor.load(await response.text());
    return editor;
  }

  // ------------------------------------------------------------------ version diff

  const KINDS = { added: t('added'), changed: t('changed'), moved: t('moved'), removed: t('removed') };
  const WHAT = Object.fromEntries(['name', 'condition', 'default', 'form', 'due_working_days', 'notify', 'timer']
    .map(what => [what, t(`what.${what}`)]));
  const MARKERS = { added: 'diff-added', changed: 'diff-changed', moved: 'diff-layout', removed: 'diff-removed' };

  async function viewer(container, xml) {
    const v = new BpmnJS({ container });
    await v.importXML(xml);
    v.get('canvas').zoom('fit-viewport', 'auto');
    return v;
  }

  function describe(kind, item) {
    const details = (item.changes || []).map(c =>
      `${WHAT[c.what] || c.what}${t('colon')}${c.from ?? t('none')} → ${c.to ?? t('none')}`).join(t('listSep'));
    const label = item.name ? `${item.name}（${item.id}）` : item.id;
    return el('li', { class: kind, 'data-element': item.id, 'data-kind': kind },
      [el('span', { class: 'kind' }, [KINDS[kind]]), ' ', label, details ? t('colon') + details : '']);
  }

  function mark(v, id, cls) {
    if (v.get('elementRegistry').get(id)) v.get('canvas').addMarker(id, cls);
  }

  // Removed elements are marked on the old version, everything else on the new one; changed on both.
  async function showDiff(root) {
    const load = async url => (await fetch(url, { credentials: 'same-origin' })).text();
    const [xmlA, xmlB] = await Promise.all([load(root.dataset.a), load(root.dataset.b)]);
    const [a, b] = await Promise.all([viewer(root.querySelector('#diagram-a'), xmlA),
      viewer(root.querySelector('#diagram-b'), xmlB)]);
    const result = await AppModeler.diffXML(xmlA, xmlB);
    const items = [];
    ['added', 'changed', 'moved', 'removed'].forEach(kind => result[kind].forEach(item => {
      if (kind !== 'removed') mark(b, item.id, MARKERS[kind]);
      if (kind === 'removed' || kind === 'changed') mark(a, item.id, MARKERS[kind]);
      items.push(describe(kind, item));
    }));
    root.querySelector('.changes').replaceChildren(...(items.length ? items
      : [el('li', { class: 'muted' }, [t('noDifferences')])]));
    root.dataset.ready = 'true';
    return result;
  }

  // The editor and diff pages carry their URLs in data-* attributes; nothing inline starts them (see the CSP).
  document.addEventListener('DOMContentLoaded', () => {
    const editor = document.getElementById('editor'), diff = document.getElementById('diff');
    if (editor) openEditor(editor);
    if (diff) showDiff(diff);
  });

  window.WebirEditor = { openEditor, showDiff };
})();
