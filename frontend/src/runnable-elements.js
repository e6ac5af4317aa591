// Offer only what this app can run: start and end events, user tasks, exclusive gateways, timers on a
// step's edge, sequence flows, pools and lanes. Everything else (receive/send/script/service tasks, message
// and signal events, sub-processes, data objects …) is taken out of the palette, context pad and replace menu.
const PALETTE = new Set(['hand-tool', 'lasso-tool', 'space-tool', 'global-connect-tool', 'tool-separator',
  'create.start-event', 'create.intermediate-event', 'create.end-event', 'create.exclusive-gateway', 'create.task',
  'create.participant-expanded']);
const CONTEXT_PAD = new Set(['append.end-event', 'append.gateway', 'append.append-task', 'replace', 'delete',
  'connect', 'lane-insert-above', 'lane-insert-below', 'lane-divide-two', 'lane-divide-three']);
const REPLACE = new Set(['replace-with-none-start', 'replace-with-none-end', 'replace-with-user-task',
  'replace-with-exclusive-gateway', 'replace-with-timer-boundary', 'replace-with-non-interrupting-timer-boundary',
  'replace-with-sequence-flow', 'replace-with-default-flow', 'replace-with-conditional-flow',
  'replace-with-expanded-pool']);

const keep = (entries, allowed) => Object.fromEntries(Object.entries(entries).filter(([id]) => allowed.has(id)));

// A task here is always a user task (an approval step); a new intermediate event is a timer, which becomes
// a boundary timer when dropped on a step's edge.
const USER_TASK = { type: 'bpmn:UserTask' };
const TIMER = { type: 'bpmn:IntermediateCatchEvent', eventDefinitionType: 'bpmn:TimerEventDefinition' };

export default function RunnableElements(palette, contextPad, popupMenu, elementFactory, create, autoPlace, translate) {
  const starter = options => event => create.start(event, elementFactory.createShape({ ...options }));
  palette.registerProvider(100, {
    getPaletteEntries: () => entries => {
      const kept = keep(entries, PALETTE);
      if (kept['create.task']) {
        kept['create.task'] = { ...kept['create.task'], title: translate('Create user task'),
          action: { dragstart: starter(USER_TASK), click: starter(USER_TASK) } };
      }
      if (kept['create.intermediate-event']) {
        kept['create.intermediate-event'] = { ...kept['create.intermediate-event'],
          className: 'bpmn-icon-intermediate-event-catch-timer', title: translate('Create timer (drop it on a step\'s edge)'),
          action: { dragstart: starter(TIMER), click: starter(TIMER) } };
      }
      return kept;
    },
  });
  contextPad.registerProvider(100, {
    getContextPadEntries: element => entries => {
      const kept = keep(entries, CONTEXT_PAD);
      if (kept['append.append-task']) {
        const append = (event, source) => autoPlace.append(source, elementFactory.createShape({ ...USER_TASK }));
        const drag = (event, source) => create.start(event, elementFactory.createShape({ ...USER_TASK }), { source });
        kept['append.append-task'] = { ...kept['append.append-task'], title: translate('Append user task'),
          action: { click: append, dragstart: drag } };
      }
      return kept;
    },
  });
  popupMenu.registerProvider('bpmn-replace', 100, {
    getPopupMenuEntries: () => entries => keep(entries, REPLACE),
    getPopupMenuHeaderEntries: () => () => ({}),
  });
}

RunnableElements.$inject = ['palette', 'contextPad', 'popupMenu', 'elementFactory', 'create', 'autoPlace', 'translate'];
