// The administrators' editor: bpmn-js modeler, properties panel (condition field, approval settings), bpmnlint, differ.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import { diff } from 'bpmn-js-differ';
import { BpmnModdle } from 'bpmn-moddle';
import bpmnlintConfig from './bpmnlint-config.generated.js';
import PlainConditionProvider from './plain-condition-provider.js';
import ApprovalProvider from './approval-provider.js';
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

export function createModeler({ container, properties, translate, options }) {
  const modules = [
    BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, lintModule,
    { __init__: ['plainConditionProvider'], plainConditionProvider: ['type', PlainConditionProvider] },
    { __init__: ['approvalProvider'], approvalProvider: ['type', ApprovalProvider] },
  ];
  if (translate) modules.push({ translate: ['value', translate] });
  const modeler = new BpmnModeler({
    container, propertiesPanel: { parent: properties }, appOptions: options || {},
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

export async function diffXML(oldXml, newXml) {
  const moddle = new BpmnModdle({ spiffworkflow: spiffworkflowModdle });
  const [a, b] = await Promise.all([moddle.fromXML(oldXml), moddle.fromXML(newXml)]);
  return diff(a.rootElement, b.rootElement);
}
