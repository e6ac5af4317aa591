// Pack bpmnlint's recommended rules into an ES module the bundler can include (bpmnlint ships the compiler).
const fs = require('fs');
const path = require('path');
const compileConfig = require('bpmnlint/lib/support/compile-config');

compileConfig({ extends: 'bpmnlint:recommended', rules: { 'label-required': 'warn' } })
  .then(code => fs.writeFileSync(path.join(__dirname, '..', 'src', 'bpmnlint-config.generated.js'), code));
