// The administrators' editor: bpmn-js modeler, properties panel (condition field, approval settings), bpmnlint, differ.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import TokenSimulationModule from 'bpmn-js-token-simulation/lib/modeler';
import { diff } from 'bpmn-js-differ';
import { BpmnModdle } from 'bpmn-moddle';
import bpmnlintConfig from './bpmnlint-config.generated.js';
import PlainConditionProvider from './plain-condition-provider.js';
import ApprovalProvider from './approval-provider.js';
import RunnableElements from './runnable-elements.js';
import spiffworkflowModdle from './spiffworkflow-moddle.js';

// Diagrams written by hand (like the shipped ones) carry sourceRef/targetRef only. bpmnlint and the
// modeler read a node's incoming/outgoing lists, so fill them in before anything looks at the diagram.
function linkFlows(definitions) {
  const visit = container => (container.flowElements || []).forEach(element => {
    if (element.$type === 'bpmn:SequenceFlow' && element.sourceRef && element.targetRef) {
      const outgoing = element.sourceRef.get('outgoing'), incoming = element.targetRef.get('incoming');
      if (!outgoing.includes(element)) outgoing.push(element);
      if (!incoming.includes(element)) incoming.push(element);
    }
    if (element.flowElements) visit(element);
  });
  (definitions.rootElements || []).filter(e => e.$type === 'bpmn:Process').forEach(visit);
}

// Open the groups an administrator edits most, so a field is one click away.
const OPEN_GROUPS = Object.fromEntries(['general', 'approval', 'condition', 'timer'].map(id => [id, { open: true }]));

export function createModeler({ container, properties, translate, options }) {
  const modules = [
    BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, lintModule,
    { __init__: ['plainConditionProvider'], plainConditionProvider: ['type', PlainConditionProvider] },
    { __init__: ['approvalProvider'], approvalProvider: ['type', ApprovalProvider] },
    { __init__: ['runnableElements'], runnableElements: ['type', RunnableElements] },
    TokenSimulationModule,
  ];
  if (translate) modules.push({ translate: ['value', translate] });
  const modeler = new BpmnModeler({
    container, appOptions: options || {},
    propertiesPanel: { parent: properties, layout: { groups: OPEN_GROUPS } },
    moddleExtensions: { spiffworkflow: spiffworkflowModdle },
    linting: { bpmnlint: bpmnlintConfig, active: true }, additionalModules: modules,
  });
  modeler.on('import.parse.complete', ({ definitions }) => definitions && linkFlows(definitions));
  return modeler;
}

// Every bpmnlint finding as {id, rule, category, message}, flat.
export async function lint(modeler) {
  const issues = await modeler.get('linting').lint();
  return Object.entries(issues).flatMap(([rule, reports]) => reports.map(r => ({ ...r, rule })));
}

// What an administrator cares about in one element, to say how it changed (the differ's own attrs
// swap old and new values and ignore extension properties such as the form).
function facts(element) {
  if (!element) return {};
  const props = {};
  (element.extensionElements?.values || []).forEach(ext => (ext.properties || []).forEach(p => { props[p.name] = p.value; }));
  const timer = (element.eventDefinitions || []).find(d => d.$type === 'bpmn:TimerEventDefinition');
  const timerValue = timer && (timer.timeDate || timer.timeDuration || timer.timeCycle);
  return {
    name: element.name, condition: element.conditionExpression?.body, default: element.default?.id,
    form: props.form, due_working_days: props.due_working_days, notify: props.notify, timer: timerValue?.body,
  };
}

function changesOf(before, after) {
  const a = facts(before), b = facts(after);
  return Object.keys({ ...a, ...b }).filter(k => (a[k] ?? '') !== (b[k] ?? ''))
    .map(what => ({ what, from: a[what] ?? null, to: b[what] ?? null }));
}

const summary = (id, element) => ({ id, name: element?.name || '', type: element?.$type || '' });

// Compare two versions: added, removed, changed (with what changed) and moved-only elements.
export async function diffXML(oldXml, newXml) {
  const moddle = new BpmnModdle({ spiffworkflow: spiffworkflowModdle });
  const [a, b] = await Promise.all([moddle.fromXML(oldXml), moddle.fromXML(newXml)]);
  const result = diff(a.rootElement, b.rootElement);
  const before = a.elementsById, after = b.elementsById;
  const shared = Object.keys(after).filter(id => before[id] && after[id].$type !== 'bpmndi:BPMNShape'
    && after[id].$type !== 'bpmndi:BPMNEdge');
  const changedIds = new Set([...Object.keys(result._changed), ...shared.filter(id => changesOf(before[id], after[id]).length)]);
  return {
    ...result,
    added: Object.keys(result._added).map(id => summary(id, after[id])),
    removed: Object.keys(result._removed).map(id => summary(id, before[id])),
    changed: [...changedIds].map(id => ({ ...summary(id, after[id]), changes: changesOf(before[id], after[id]) })),
    moved: Object.keys(result._layoutChanged).filter(id => !changedIds.has(id)).map(id => summary(id, after[id])),
  };
}
