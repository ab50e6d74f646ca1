// Writes traces.json anew from the current code (npm run golden:update).
import { writeFileSync } from 'node:fs';
import { allGolden } from './traces.js';

const file = new URL('./traces.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(await allGolden(), null, 2)}\n`);
console.log(`wrote ${file.pathname.split('/').slice(-3).join('/')}`);
