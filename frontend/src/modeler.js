// The administrators' editor: bpmn-js modeler, properties panel (with a plain condition field), bpmnlint, differ.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import { diff } from 'bpmn-js-differ';
import { BpmnModdle } from 'bpmn-moddle';
import bpmnlintConfig from './bpmnlint-config.generated.js';
import PlainConditionProvider from './plain-condition-provider.js';

export function createModeler({ container, properties, translate }) {
  const modules = [
    BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, lintModule,
    { __init__: ['plainConditionProvider'], plainConditionProvider: ['type', PlainConditionProvider] },
  ];
  if (translate) modules.push({ translate: ['value', translate] });
  return new BpmnModeler({
    container, propertiesPanel: { parent: properties },
    linting: { bpmnlint: bpmnlintConfig, active: true }, additionalModules: modules,
  });
}

export async function diffXML(oldXml, newXml) {
  const moddle = new BpmnModdle();
  const [a, b] = await Promise.all([moddle.fromXML(oldXml), moddle.fromXML(newXml)]);
  return diff(a.rootElement, b.rootElement);
}
