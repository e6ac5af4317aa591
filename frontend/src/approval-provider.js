// A "簽核設定" group: a user task's form and due working days, a lane's role, a boundary timer's notify target.
// Choices come from the server (config.appOptions), so the panel offers only what the app can run.
import { Group, SelectEntry, TextFieldEntry, isSelectEntryEdited, isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { is } from 'bpmn-js/lib/util/ModelUtil';
import { getPropertyValue, setPropertyValue } from './spiff-properties.js';

function withUnknown(options, value, translate) {
  const known = options.some(o => o.value === value);
  const head = [{ value: '', label: translate('<none>') }];
  return known || !value ? [...head, ...options] : [...head, { value, label: `${value}（${translate('unknown')}）` }, ...options];
}

function usePropertyServices() {
  return { modeling: useService('modeling'), bpmnFactory: useService('bpmnFactory'), moddle: useService('moddle') };
}

function PropertySelect({ element, id, name, label, options }) {
  const services = usePropertyServices();
  const translate = useService('translate');
  return SelectEntry({
    element, id, label: translate(label),
    getValue: () => getPropertyValue(element, name),
    setValue: value => setPropertyValue(element, name, value, services),
    getOptions: () => withUnknown(options, getPropertyValue(element, name), translate),
  });
}

function DueDaysEntry({ element, id }) {
  const services = usePropertyServices();
  const translate = useService('translate');
  return TextFieldEntry({
    element, id, label: translate('Due (working days)'), debounce: useService('debounceInput'),
    getValue: () => getPropertyValue(element, 'due_working_days'),
    setValue: value => setPropertyValue(element, 'due_working_days', (value || '').trim(), services),
    validate: value => (/^\d{0,3}$/.test((value || '').trim()) ? null : translate('Whole days, e.g. 3')),
  });
}

function LaneRoleEntry({ element, id, options }) {
  const modeling = useService('modeling');
  const translate = useService('translate');
  return SelectEntry({
    element, id, label: translate('Role'),
    getValue: () => element.businessObject.name || '',
    setValue: value => modeling.updateLabel(element, value),
    getOptions: () => withUnknown(options, element.businessObject.name || '', translate),
  });
}

function isTimerBoundary(element) {
  const definitions = element.businessObject.eventDefinitions || [];
  return is(element, 'bpmn:BoundaryEvent') && definitions.some(d => is(d, 'bpmn:TimerEventDefinition'));
}

export default class ApprovalProvider {
  constructor(propertiesPanel, translate, config) {
    propertiesPanel.registerProvider(450, this);
    this._translate = translate;
    this._options = { forms: [], roles: [], notify: [], ...(config || {}) };
  }

  _entries(element) {
    const { forms, roles, notify } = this._options;
    if (is(element, 'bpmn:UserTask')) {
      return [
        { id: 'approvalForm', element, name: 'form', label: 'Form', options: forms,
          component: PropertySelect, isEdited: isSelectEntryEdited },
        { id: 'approvalDueDays', element, component: DueDaysEntry, isEdited: isTextFieldEntryEdited },
      ];
    }
    if (is(element, 'bpmn:Lane')) {
      return [{ id: 'laneRole', element, options: roles, component: LaneRoleEntry, isEdited: isSelectEntryEdited }];
    }
    if (isTimerBoundary(element)) {
      return [{ id: 'timerNotify', element, name: 'notify', label: 'Notify', options: notify,
        component: PropertySelect, isEdited: isSelectEntryEdited }];
    }
    return [];
  }

  getGroups(element) {
    return groups => {
      const entries = this._entries(element);
      if (entries.length) {
        groups.splice(1, 0, { id: 'approval', label: this._translate('Approval settings'), component: Group, entries });
      }
      return groups;
    };
  }
}
ApprovalProvider.$inject = ['propertiesPanel', 'translate', 'config.appOptions'];
