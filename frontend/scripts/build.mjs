import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
await build({
  entryPoints: [join(here, '..', 'src', 'modeler.js')],
  bundle: true, minify: true, format: 'iife', globalName: 'AppModeler', target: ['es2020'],
  outfile: join(here, '..', '..', 'web', 'static', 'vendor', 'app', 'modeler.bundle.js'), logLevel: 'warning',
});
