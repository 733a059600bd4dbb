// The reshaping logic of the `reshape` step, as plain functions with no WebAssembly
// or weft imports, so that it can also be tried with an ordinary Node.js:
//
//   node -e "import('./reshape.js').then(m => console.log(m.reshape(cfg, input)))"
//
// See app.js for the config the step takes and what it returns.

/** The config or input is wrong; the message names the field (and index). */
export class InvalidInput extends Error {}

const DEFAULT_ITEMS = 'items';
const DEFAULT_COUNT_AS = 'count';

/** Parses a JSON document that must be an object; `null` counts as `{}`. */
export function parseObject(text, what) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InvalidInput(`${what} is not well-formed JSON: ${e.message}`);
  }
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInput(`${what} must be a JSON object, got ${typeName(value)}`);
  }
  return value;
}

function typeName(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isPlainObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads `path` from `obj`: the key itself when `obj` has it, otherwise a dotted path
 * (`order.customer.id`). Returns `undefined` when any part is missing.
 */
export function getPath(obj, path) {
  if (!isPlainObject(obj)) return undefined;
  if (Object.prototype.hasOwnProperty.call(obj, path)) return obj[path];
  let value = obj;
  for (const part of path.split('.')) {
    if (!isPlainObject(value) || !Object.prototype.hasOwnProperty.call(value, part)) {
      return undefined;
    }
    value = value[part];
  }
  return value;
}

function nonEmptyString(value) {
  return typeof value === 'string' && value.length > 0;
}

/** Checks the config and fills in defaults. */
export function readConfig(config) {
  const groupBy = config.group_by ?? null;
  if (groupBy !== null && !nonEmptyString(groupBy)) {
    throw new InvalidInput('config `group_by` must be a non-empty string');
  }

  let sum = config.sum ?? [];
  if (typeof sum === 'string') sum = [sum];
  if (!Array.isArray(sum) || !sum.every(nonEmptyString)) {
    throw new InvalidInput('config `sum` must be a list of field names (non-empty strings)');
  }

  const countAs = config.count_as ?? DEFAULT_COUNT_AS;
  if (!nonEmptyString(countAs)) {
    throw new InvalidInput('config `count_as` must be a non-empty string');
  }

  const itemsPath = config.items ?? DEFAULT_ITEMS;
  if (!nonEmptyString(itemsPath)) {
    throw new InvalidInput('config `items` must be a non-empty string (a field or dotted path of the input)');
  }

  // Every output field name must be distinct, or one would overwrite another.
  const outputFields = [...(groupBy === null ? [] : [groupBy]), countAs, ...sum];
  const seen = new Set();
  for (const name of outputFields) {
    if (seen.has(name)) {
      throw new InvalidInput(`config names the output field \`${name}\` twice (group_by, count_as and sum must differ)`);
    }
    seen.add(name);
  }

  let sortBy = config.sort_by ?? null;
  let descending = false;
  if (sortBy !== null) {
    if (!nonEmptyString(sortBy)) {
      throw new InvalidInput('config `sort_by` must be a field name, optionally prefixed with `-` for descending');
    }
    if (sortBy.startsWith('-')) {
      descending = true;
      sortBy = sortBy.slice(1);
    }
    if (!seen.has(sortBy)) {
      throw new InvalidInput(
        `config \`sort_by\` names \`${sortBy}\`, which is not an output field (one of ${[...seen].map((f) => `\`${f}\``).join(', ')})`,
      );
    }
  }

  return { groupBy, sum, countAs, itemsPath, sortBy, descending };
}

// Rank of a JSON value's type when keys of different types are sorted together.
function typeRank(value) {
  if (value === null) return 0;
  switch (typeof value) {
    case 'boolean': return 1;
    case 'number': return 2;
    case 'string': return 3;
    default: return 4; // arrays and objects, compared as JSON text
  }
}

/**
 * A total order on JSON values: null < booleans < numbers < strings < arrays/objects.
 * Strings compare by UTF-16 code units (deterministic, locale-free).
 */
export function compareValues(a, b) {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return 0;
  if (ra === 4) {
    a = JSON.stringify(a);
    b = JSON.stringify(b);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Groups `input[items]` by `group_by`, counts each group and sums the `sum` fields.
 * Returns `{ groups: [...] }`; throws `InvalidInput` when config or input is wrong.
 */
export function reshape(config, input) {
  const cfg = readConfig(config);
  const items = getPath(input, cfg.itemsPath);
  if (!Array.isArray(items)) {
    throw new InvalidInput(`input \`${cfg.itemsPath}\` must be an array, got ${typeName(items ?? null)}`);
  }

  const groups = new Map(); // JSON text of the key -> group
  items.forEach((item, index) => {
    if (!isPlainObject(item)) {
      throw new InvalidInput(`input \`${cfg.itemsPath}[${index}]\` must be an object, got ${typeName(item)}`);
    }
    const key = cfg.groupBy === null ? null : getPath(item, cfg.groupBy) ?? null;
    const id = JSON.stringify(key);
    let group = groups.get(id);
    if (group === undefined) {
      group = { key, count: 0, sums: cfg.sum.map(() => 0) };
      groups.set(id, group);
    }
    group.count += 1;
    cfg.sum.forEach((field, i) => {
      const value = getPath(item, field);
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new InvalidInput(
          `input \`${cfg.itemsPath}[${index}].${field}\` must be a number, got ${typeName(value ?? null)}`,
        );
      }
      group.sums[i] += value;
    });
  });

  const rows = [...groups.values()].map((group) => {
    const row = {};
    if (cfg.groupBy !== null) row[cfg.groupBy] = group.key;
    row[cfg.countAs] = group.count;
    cfg.sum.forEach((field, i) => {
      row[field] = group.sums[i];
    });
    return { key: group.key, row };
  });

  const sign = cfg.descending ? -1 : 1;
  rows.sort((a, b) => {
    if (cfg.sortBy !== null) {
      const order = compareValues(a.row[cfg.sortBy], b.row[cfg.sortBy]);
      if (order !== 0) return sign * order;
    }
    return compareValues(a.key, b.key); // ties (and the default): key ascending
  });

  return { groups: rows.map((r) => r.row) };
}
