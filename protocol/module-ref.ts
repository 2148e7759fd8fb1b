/**
 * How published modules are named: `name@version`, immutable once published (the registry
 * at a gateway, a task project's task.json and the CLI share these rules). A job may name a
 * module by `name@version`, a bare registry name (its newest version), a catalogue name,
 * or the module's sha256; the longest ref (32 + 1 + 24) fits the offer's `moduleName`.
 */
export const MODULE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const MODULE_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,23}$/;
export const MODULE_NAME_RULE = 'name must be 1-32 of a-z 0-9 _ -, starting with a letter or digit';
export const MODULE_VERSION_RULE = 'version must be 1-24 of A-Z a-z 0-9 . + _ -, starting with a letter or digit (e.g. 1.0.0)';
