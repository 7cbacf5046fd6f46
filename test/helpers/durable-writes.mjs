// Writes each of the small files statscache replaces in place (amqp-bindings.json, a record file
// such as hung-messages.json, an export) once into <dir>, for durable-replace.test.ts to watch
// under strace. argv: <dir>
import { join } from 'node:path';
import { AmqpBindingRecord } from '../../dist/src/amqp-binding-record.js';
import { writeExportFile } from '../../dist/src/commands/export-file.js';
import { writeRecordFile } from '../../dist/snapshots/record-file.js';

const [dir] = process.argv.slice(2);
new AmqpBindingRecord(dir).write('amqp://broker', 'q', ['org.fedoraproject.prod.#']);
writeRecordFile(join(dir, 'hung-messages.json'), '{"messages":[]}\n');
writeExportFile(join(dir, 'backup.sc'), new Uint8Array([1, 2, 3]));
