"""Time-driven work: the sweep that wakes due BPMN timers, and the recurring duties started once per period."""
