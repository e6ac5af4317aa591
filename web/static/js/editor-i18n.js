// Traditional Chinese for the editor strings this app shows (palette, context pad, properties panel, lint).
// Keys missing here fall back to English. bpmn-js-i18n has only Simplified Chinese, hence a small map of our own.
// When the page is in English (<html lang="en">) bpmn-js keeps its own English and bpmnlint its own messages.
// The editor's own messages come from the server in the UI language (window.WebirText, _client_text.html).
(function () {
  const english = !(document.documentElement.lang || 'zh').toLowerCase().startsWith('zh');

  const zhTW = {
    // palette and tools
    'Activate hand tool': '啟用拖曳工具', 'Activate lasso tool': '啟用套索工具',
    'Activate create/remove space tool': '啟用新增／移除空間工具', 'Activate global connect tool': '啟用連線工具',
    'Create start event': '建立開始事件', 'Create intermediate/boundary event': '建立中間／邊界事件',
    'Create end event': '建立結束事件', 'Create gateway': '建立閘道', 'Create task': '建立工作',
    'Create expanded sub-process': '建立展開的子流程', 'Create data object reference': '建立資料物件參照',
    'Create data store reference': '建立資料儲存參照', 'Create pool/participant': '建立池／參與者',
    'Create group': '建立群組', 'Create user task': '建立簽核步驟（使用者工作）',
    "Create timer (drop it on a step's edge)": '建立計時器（拖到步驟邊框上成為逾期提醒／通報）',
    'Append user task': '接上簽核步驟（使用者工作）',
    // replace menu (變更元素類型)
    'Start event': '開始事件', 'End event': '結束事件', 'User task': '使用者工作（簽核步驟）',
    'Exclusive gateway': '互斥閘道', 'Timer boundary event': '邊界計時器（中斷步驟）',
    'Timer boundary event (non-interrupting)': '邊界計時器（不中斷步驟）', 'Sequence flow': '一般連線',
    'Default flow': '預設路徑', 'Conditional flow': '條件連線', 'Expanded pool/participant': '展開的池／參與者',
    'Search in diagram': '在流程圖中搜尋', 'No matching entries found.': '找不到相符的項目。',
    // context pad
    'Append end event': '接上結束事件', 'Append gateway': '接上閘道', 'Append task': '接上工作',
    'Append intermediate/boundary event': '接上中間／邊界事件', 'Append timer intermediate catch event': '接上計時器事件',
    'Append message intermediate catch event': '接上訊息事件', 'Append receive task': '接上接收工作',
    'Append signal intermediate catch event': '接上訊號事件', 'Append conditional intermediate catch event': '接上條件事件',
    'Append compensation activity': '接上補償活動', 'Add text annotation': '新增文字註解',
    'Add lane above': '在上方新增泳道', 'Add lane below': '在下方新增泳道',
    'Divide into two lanes': '分成兩條泳道', 'Divide into three lanes': '分成三條泳道',
    'Change element': '變更元素類型', 'Connect to other element': '連線到其他元素',
    'Connect using association': '以關聯連線', 'Delete': '刪除',
    // properties panel
    'General': '一般', 'Name': '名稱', 'ID': '代碼', 'Documentation': '文件說明', 'Element documentation': '元素說明',
    'Process documentation': '流程說明', 'Timer': '計時器', 'Type': '類型', 'Value': '值', 'Date': '日期',
    'Duration': '期間', 'Cycle': '循環', '<none>': '（無）', 'Condition': '條件',
    'Condition expression': '條件運算式（Python，例如 decision == "approve"）', 'Process ID': '流程代碼',
    'Process name': '流程名稱', 'Executable': '可執行', 'Multi-instance': '多執行個體',
    'Approval settings': '簽核設定', 'Form': '步驟表單', 'Due (working days)': '辦理期限（工作天）',
    'Whole days, e.g. 3': '請填整數天數，例如 3', 'Role': '角色（泳道名稱）', 'Notify': '逾期通知對象', 'unknown': '未知',
    'A time duration defined as ISO 8601 durations format.': 'ISO-8601 期間，須加引號，例如 "P3D"。',
    'A specific point in time defined as ISO 8601 combined date and time representation.':
      'ISO-8601 日期時間，須加引號並註明時區，例如 "2026-12-31T17:00:00+08:00"。',
    'A cycle defined as ISO 8601 repeating intervals format, or a cron expression.': 'ISO-8601 循環，須加引號，例如 "R3/P1D"。',
    // bpmnlint button
    'Issues': '問題', 'No Issues': '沒有問題', 'Errors': '錯誤', 'Warnings': '提醒',
  };

  function translate(template, replacements) {
    const text = english ? template : (zhTW[template] || template);
    return text.replace(/{([^}]+)}/g, (_, key) => (replacements && key in replacements ? replacements[key] : `{${key}}`));
  }

  // bpmnlint findings in plain words, by rule.
  const LINT = {
    'no-implicit-start': '沒有任何連線進入這個元素，流程永遠走不到這裡',
    'no-implicit-end': '沒有任何連線離開這個元素；若流程在此結束，請接到結束事件',
    'no-disconnected': '這個元素沒有接上任何連線',
    'label-required': '這個元素沒有名稱',
    'conditional-flows': '這條連線沒有條件，也不是預設路徑',
    'start-event-required': '流程沒有開始事件', 'end-event-required': '流程沒有結束事件',
    'fake-join': '多條連線直接進入這個工作；建議先以閘道匯流',
    'no-gateway-join-fork': '閘道不可同時匯流與分流', 'no-implicit-split': '有多條沒有條件的連線離開這個元素（隱含分流）',
    'single-blank-start-event': '只能有一個一般開始事件', 'superfluous-gateway': '多餘的閘道（只有一進一出）',
    'no-duplicate-sequence-flows': '重複的連線', 'no-bpmndi': '這個元素沒有圖形資訊', 'no-overlapping-elements': '元素彼此重疊',
    'no-inclusive-gateway': '不建議使用包容閘道', 'no-complex-gateway': '不可使用複合閘道',
    'single-event-definition': '事件只能有一個觸發定義', 'superfluous-termination': '多餘的終止結束事件',
  };

  function lintMessage(rule, message) {
    if (english) return `${message} (${rule})`;
    return LINT[rule] || `${message}（${rule}）`;
  }

  // The editor's own messages: text('deployed', { version: 3 }) fills {version}.
  function text(key, values) {
    const template = (window.WebirText || {})[key] ?? key;
    return template.replace(/{(\w+)}/g, (_, name) => (values && name in values ? values[name] : `{${name}}`));
  }

  // bpmn-js-token-simulation writes its labels, tooltips and log in English, outside bpmn-js's translate():
  // in a Chinese page they are replaced as they appear; an English page keeps them as written.
  const SIMULATION = {
    'Play/Pause Simulation': '播放／暫停模擬', 'Reset Simulation': '重設模擬', 'Toggle Simulation Log': '顯示／隱藏模擬紀錄',
    'Trigger Event': '觸發事件', 'Set Sequence Flow': '選擇這條連線', 'Back': '返回', 'Simulation Log': '模擬紀錄',
    'No Entries': '沒有紀錄', 'Play Simulation': '播放模擬', 'Pause Simulation': '暫停模擬', 'Finished': '已結束',
    'Not supported': '不支援', 'Found unsupported elements': '有模擬不支援的元素', 'Token Simulation': '模擬流程',
    'Process started': '流程開始', 'Process finished': '流程結束', 'Process canceled': '流程取消',
    'User Task': '使用者工作', 'Exclusive Gateway': '互斥閘道', 'Start Event': '開始事件', 'End Event': '結束事件',
    'Boundary Event': '邊界事件', 'Intermediate Event': '中間事件', 'Task': '工作', 'Close': '關閉',
  };
  const SIMULATION_PATTERNS = [
    [/^Set animation speed = (.+)$/, '動畫速度 = $1'], [/^Focus process instance (.+)$/, '聚焦流程實例 $1'],
    [/^(.+) started$/, '$1 開始'], [/^(.+) finished$/, '$1 結束'], [/^(.+) canceled$/, '$1 取消'],
  ];

  function simulationText(value) {
    const text = (value || '').trim();
    if (SIMULATION[text]) return SIMULATION[text];
    for (const [pattern, replacement] of SIMULATION_PATTERNS) if (pattern.test(text)) return text.replace(pattern, replacement);
    return null;
  }

  function localizeSimulationNode(node) {
    if (node.nodeType === Node.TEXT_NODE) {
      const parent = node.parentElement;
      if (!parent || !parent.closest('[class*="bts-"]')) return;
      const zh = simulationText(node.nodeValue);
      if (zh) node.nodeValue = node.nodeValue.replace(node.nodeValue.trim(), zh);
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    for (const el of [node, ...node.querySelectorAll('[title], [aria-label]')]) {
      for (const name of ['title', 'aria-label']) {
        const zh = el.hasAttribute(name) && el.closest('[class*="bts-"]') && simulationText(el.getAttribute(name));
        if (zh) el.setAttribute(name, zh);
      }
    }
    if (node.closest('[class*="bts-"]') || node.querySelector('[class*="bts-"]')) {
      const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
      for (let text = walker.nextNode(); text; text = walker.nextNode()) localizeSimulationNode(text);
    }
  }

  // Watch the editor's container: the simulation adds and rewrites its parts while it runs.
  function localizeSimulation(container) {
    if (english) return null;
    localizeSimulationNode(container);
    const observer = new MutationObserver(records => {
      for (const record of records) {
        if (record.type === 'attributes') localizeSimulationNode(record.target);
        else if (record.type === 'characterData') localizeSimulationNode(record.target);
        else record.addedNodes.forEach(localizeSimulationNode);
      }
    });
    observer.observe(container, { subtree: true, childList: true, characterData: true, attributes: true,
                                  attributeFilter: ['title', 'aria-label'] });
    return observer;
  }

  window.EditorI18n = { translate, lintMessage, text, english, localizeSimulation, simulationText };
})();
