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

  function esc(text) {
    const div = document.createElement('div');
    div.textContent = text == null ? '' : String(text);
    return div.innerHTML;
  }

  // A problem reported on a process id is shown on the pool that draws it.
  function shapeFor(registry, id) {
    if (!id) return null;
    return registry.get(id) || registry.find(e => e.businessObject && e.businessObject.processRef
      && e.businessObject.processRef.id === id) || null;
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
      root.editor = this;  // tests and the console reach the modeler through the element
    }

    get(service) { return this.modeler.get(service); }

    say(text, kind) {
      this.status.textContent = text;
      this.status.className = `status ${kind || ''}`;
    }

    async load(xml) {
      try {
        const { warnings } = await this.modeler.importXML(xml);
        const canvas = this.get('canvas');
        canvas.zoom('fit-viewport', 'auto');
        canvas.scroll({ dx: 70, dy: 0 });  // fit-viewport puts the left edge under the palette
        this.clearProblems();
        this.root.dataset.ready = 'true';
        if (warnings.length) this.say(t('loadedWithWarnings', { count: warnings.length }), 'error');
        return true;
      } catch (error) {
        this.say(t('cannotOpen', { error: error.message }), 'error');
        return false;
      }
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
      lintIssues.forEach(i => add(i.id, EditorI18n.lintMessage(i.rule, i.message),
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
        html: `<div class="problem-badge" title="${esc(message)}" data-element="${esc(element.id)}">!</div>`,
      });
      this.problemOverlays.push({ overlay, id: element.id });
    }

    renderList(items) {
      if (!items.length) {
        this.list.innerHTML = `<li class="ok">${esc(t('noProblems'))}</li>`;
        return;
      }
      this.list.innerHTML = items.map((item, n) => `<li class="${item.severity}" data-element="${esc(item.id || '')}">
        ${item.element ? `<button type="button" class="element" data-index="${n}">${esc(labelOf(item.element, item.id))}</button>`
          : esc(labelOf(null, item.id))}${esc(t('colon'))}${esc(item.message)}</li>`).join('');
      this.list.querySelectorAll('button.element').forEach(button => button.addEventListener('click', () => {
        const element = items[Number(button.dataset.index)].element;
        this.get('selection').select(element);
        this.get('canvas').scrollToElement(element);
      }));
    }

    async check() {
      this.say(t('checking'));
      const lintIssues = await AppModeler.lint(this.modeler);
      const { status, data } = await postJSON(this.root.dataset.checkUrl, { xml: await this.xml() });
      if (status >= 400) {
        this.say(data.detail || t('checkFailed'), 'error');
        return this.showProblems(lintIssues, data.problems || []) || 1;
      }
      const errors = this.showProblems(lintIssues, data.problems);
      this.say(errors ? t('errorsFound', { count: errors }) : t('checkPassed'), errors ? 'error' : 'success');
      return errors;
    }

    async saveDraft() {
      const { status, data } = await postJSON(this.root.dataset.draftUrl, {
        xml: await this.xml(), note: this.note(), base_version: Number(this.root.dataset.baseVersion) || null,
      });
      if (status >= 400) return this.say(data.detail || t('cannotSaveDraft'), 'error');
      const time = new Date().toLocaleTimeString(EditorI18n.english ? 'en' : 'zh-TW');
      this.say(t('draftSaved', { time }), 'success');
      history.replaceState(null, '', data.url);
    }

    note() { return this.root.querySelector('#deploy-note').value.trim(); }

    async deploy() {
      if (!this.note()) {
        this.say(t('noteRequired'), 'error');
        this.root.querySelector('#deploy-note').focus();
        return;
      }
      if (await this.check()) return;
      this.say(t('deploying'));
      const { status, data } = await postJSON(this.root.dataset.deployUrl, { xml: await this.xml(), note: this.note() });
      if (status === 422 && data.problems) {
        this.showProblems([], data.problems);
        return this.say(data.detail || t('notPassed'), 'error');
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
      if (await this.load(await file.text())) this.say(t('opened', { name: file.name }), 'success');
    }

    async download() {
      const blob = new Blob([await this.xml()], { type: 'application/xml' });
      const link = Object.assign(document.createElement('a'), {
        href: URL.createObjectURL(blob), download: `${this.root.dataset.key}.bpmn`,
      });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    }

    bind() {
      const on = (action, event, handler) => this.root.querySelector(`[data-action="${action}"]`)
        .addEventListener(event, e => handler(e));
      on('check', 'click', () => this.check());
      on('save-draft', 'click', () => this.saveDraft());
      on('download', 'click', () => this.download());
      on('deploy', 'click', () => this.deploy());
      on('upload', 'change', e => this.upload(e.target));
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
      `${esc(WHAT[c.what] || c.what)}${esc(t('colon'))}${esc(c.from ?? t('none'))} → ${esc(c.to ?? t('none'))}`)
      .join(esc(t('listSep')));
    const label = item.name ? `${item.name}（${item.id}）` : item.id;
    return `<li class="${kind}" data-element="${esc(item.id)}" data-kind="${kind}"><span class="kind">${esc(KINDS[kind])}</span>
      ${esc(label)}${details ? `${esc(t('colon'))}${details}` : ''}</li>`;
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
    root.querySelector('.changes').innerHTML = items.join('') || `<li class="muted">${esc(t('noDifferences'))}</li>`;
    root.dataset.ready = 'true';
    return result;
  }

  window.WebirEditor = { openEditor, showDiff };
})();
