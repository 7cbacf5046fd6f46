import { readFileSync, writeFileSync } from 'node:fs';
import { withSettingsTable } from './settings-table.js';

// `npm run docs:settings [README.md]`: regenerates the settings table from src/settings.ts.
const file = process.argv[2] ?? 'README.md';
const before = readFileSync(file, 'utf8');
const after = withSettingsTable(before);
if (after !== before) writeFileSync(file, after);
process.stdout.write(`${file}: settings table ${after === before ? 'already up to date' : 'rewritten'}\n`);
