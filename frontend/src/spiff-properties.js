// Read and write <spiffworkflow:property name=... value=...> on an element, as undoable modeling commands.
import { is } from 'bpmn-js/lib/util/ModelUtil';

export function findProperty(businessObject, name) {
  const extension = businessObject.extensionElements;
  const container = extension && extension.get('values').find(v => is(v, 'spiffworkflow:Properties'));
  const property = container && container.get('properties').find(p => p.name === name);
  return { extension, container, property };
}

export function getPropertyValue(element, name) {
  const { property } = findProperty(element.businessObject, name);
  return property ? property.value || '' : '';
}

export function setPropertyValue(element, name, value, { modeling, bpmnFactory, moddle }) {
  const { extension, container, property } = findProperty(element.businessObject, name);
  if (property) {
    if (value) {
      modeling.updateModdleProperties(element, property, { value });
    } else {
      modeling.updateModdleProperties(element, container, {
        properties: container.get('properties').filter(p => p !== property),
      });
    }
    return;
  }
  if (!value) return;
  const created = moddle.create('spiffworkflow:Property', { name, value });
  if (container) {
    created.$parent = container;
    modeling.updateModdleProperties(element, container, { properties: [...container.get('properties'), created] });
    return;
  }
  const properties = moddle.create('spiffworkflow:Properties', { properties: [created] });
  created.$parent = properties;
  if (extension) {
    properties.$parent = extension;
    modeling.updateModdleProperties(element, extension, { values: [...extension.get('values'), properties] });
    return;
  }
  const extensionElements = bpmnFactory.create('bpmn:ExtensionElements', { values: [properties] });
  properties.$parent = extensionElements;
  modeling.updateProperties(element, { extensionElements });
}
