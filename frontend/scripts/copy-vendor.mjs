// Copy the browser files of the npm packages into the Flask static folder (no CDN, works offline).
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, '..', 'node_modules');
const out = join(here, '..', '..', 'web', 'static', 'vendor');

const files = {
  'bpmn-js/dist/bpmn-navigated-viewer.production.min.js': 'bpmn-js/bpmn-navigated-viewer.production.min.js',
  'bpmn-js/dist/assets/diagram-js.css': 'bpmn-js/assets/diagram-js.css',
  'bpmn-js/dist/assets/bpmn-js.css': 'bpmn-js/assets/bpmn-js.css',
  'bpmn-js/dist/assets/bpmn-font': 'bpmn-js/assets/bpmn-font',
  '@bpmn-io/properties-panel/dist/assets/properties-panel.css': 'properties-panel/properties-panel.css',
  'bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css': 'bpmnlint/bpmn-js-bpmnlint.css',
  'bpmn-js-token-simulation/assets/css/bpmn-js-token-simulation.css': 'token-simulation/bpmn-js-token-simulation.css',
  'bpmn-js/LICENSE': 'bpmn-js/LICENSE',
  'swagger-ui-dist/swagger-ui-bundle.js': 'swagger-ui/swagger-ui-bundle.js',
  'swagger-ui-dist/swagger-ui.css': 'swagger-ui/swagger-ui.css',
  // Only for the browser tests, which inject it into the page under test; no template loads it.
  'axe-core/axe.min.js': 'axe-core/axe.min.js',
  'axe-core/LICENSE': 'axe-core/LICENSE',
};

rmSync(out, { recursive: true, force: true });
for (const [src, dst] of Object.entries(files)) {
  mkdirSync(dirname(join(out, dst)), { recursive: true });
  cpSync(join(modules, src), join(out, dst), { recursive: true });
}
