// Checks of the reshaping logic with plain Node.js: `node --test` in this folder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInput, reshape } from './reshape.js';

const items = [
  { customer: 'acme', amount: 10 },
  { customer: 'zeta', amount: 30 },
  { customer: 'acme', amount: 5.5 },
  { amount: 1 },
];

test('groups, counts, sums and sorts descending', () => {
  const out = reshape({ group_by: 'customer', sum: ['amount'], count_as: 'n', sort_by: '-amount' }, { items });
  assert.deepEqual(out, {
    groups: [
      { customer: 'zeta', n: 1, amount: 30 },
      { customer: 'acme', n: 2, amount: 15.5 },
      { customer: null, n: 1, amount: 1 },
    ],
  });
});

test('default order is by key ascending, default count name is count', () => {
  const out = reshape({ group_by: 'customer' }, { items });
  assert.deepEqual(out.groups.map((g) => [g.customer, g.count]), [[null, 1], ['acme', 2], ['zeta', 1]]);
});

test('items and fields may be dotted paths', () => {
  const out = reshape(
    { items: 'data.rows', group_by: 'who.id', sum: 'v' },
    { data: { rows: [{ who: { id: 2 }, v: 1 }, { who: { id: 1 }, v: 2 }, { who: { id: 2 }, v: 3 }] } },
  );
  assert.deepEqual(out.groups, [{ 'who.id': 1, count: 1, v: 2 }, { 'who.id': 2, count: 2, v: 4 }]);
});

test('errors name the field and the index', () => {
  assert.throws(() => reshape({ sum: ['amount'] }, { items: [{ amount: 1 }, { amount: '2' }] }), {
    name: 'Error',
    message: 'input `items[1].amount` must be a number, got string',
  });
  assert.throws(() => reshape({}, { items: { a: 1 } }), InvalidInput);
  assert.throws(() => reshape({}, { items: [1] }), /items\[0\]` must be an object/);
  assert.throws(() => reshape({ sort_by: 'nope' }, { items: [] }), /sort_by/);
  assert.throws(() => reshape({ group_by: 'n', count_as: 'n' }, { items: [] }), /twice/);
});
