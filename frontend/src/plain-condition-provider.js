// Plain BPMN has no condition field in the stock properties panel: add one for sequence flows.
import { Group, TextFieldEntry, isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { is, isAny } from 'bpmn-js/lib/util/ModelUtil';

function ConditionExpressionEntry({ element, id }) {
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const translate = useService('translate');
  const debounce = useService('debounceInput');
  return TextFieldEntry({
    element, id, label: translate('Condition expression'), debounce,
    getValue: () => element.businessObject.conditionExpression?.body || '',
    setValue: value => modeling.updateProperties(element, {
      conditionExpression: value ? bpmnFactory.create('bpmn:FormalExpression', { body: value }) : undefined,
    }),
  });
}

export default class PlainConditionProvider {
  constructor(propertiesPanel, translate) {
    propertiesPanel.registerProvider(400, this);
    this._translate = translate;
  }

  getGroups(element) {
    return groups => {
      if (is(element, 'bpmn:SequenceFlow') && element.source
          && isAny(element.source, ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway'])) {
        groups.splice(1, 0, {
          id: 'condition', label: this._translate('Condition'), component: Group,
          entries: [{ id: 'conditionExpression', element, component: ConditionExpressionEntry,
            isEdited: isTextFieldEntryEdited }],
        });
      }
      return groups;
    };
  }
}
PlainConditionProvider.$inject = ['propertiesPanel', 'translate'];
