import t from 'tap';
import { formatPartitionSpec, parsePartitionSpec, type PartitionConfig } from '../../src/data/partition/index.js';
import { FedmanError } from '../../src/util/errors.js';

t.test('the string form reads into the object form', async (t) => {
  t.same(parsePartitionSpec('iid'), { scheme: 'iid' });
  t.same(parsePartitionSpec('dirichlet-equal:0.3'), { scheme: 'dirichlet-equal', alpha: 0.3 });
  t.same(parsePartitionSpec('dirichlet:0.5'), { scheme: 'dirichlet', alpha: 0.5 });
  t.same(parsePartitionSpec('classes:2'), { scheme: 'classes', classesPerClient: 2 });
  t.same(parsePartitionSpec('shards:200'), { scheme: 'shards', numShards: 200 });
  t.same(parsePartitionSpec(' dirichlet : 0.5 , minSize = 5 ,balance=false,maxTries=20 '), {
    scheme: 'dirichlet', alpha: 0.5, minSize: 5, balance: false, maxTries: 20,
  });
  t.same(parsePartitionSpec('iid,samplesPerClient=100'), { scheme: 'iid', samplesPerClient: 100 });
  t.same(parsePartitionSpec('shards:200,shardsPerClient=3'), { scheme: 'shards', numShards: 200, shardsPerClient: 3 });
  t.same(parsePartitionSpec('dirichlet-equal:1e-1'), { scheme: 'dirichlet-equal', alpha: 0.1 });
});

t.test('the object form is checked and returned with its keys in order', async (t) => {
  const given = { scheme: 'dirichlet', minSize: 2, alpha: 0.3 };
  const c = parsePartitionSpec(given);
  t.same(c, given);
  t.not(c, given, 'a copy');
  t.same(Object.keys(c), ['scheme', 'minSize', 'alpha']);
  t.same(parsePartitionSpec({ scheme: 'iid' }), { scheme: 'iid' });
});

t.test('the object form written as a string reads back to the same object', async (t) => {
  const configs: PartitionConfig[] = [
    { scheme: 'iid' },
    { scheme: 'iid', samplesPerClient: 50 },
    { scheme: 'dirichlet-equal', alpha: 0.3 },
    { scheme: 'dirichlet-equal', alpha: 0.1 + 0.2, samplesPerClient: 40 },
    { scheme: 'dirichlet', alpha: 0.5, minSize: 0, maxTries: 7, balance: false },
    { scheme: 'classes', classesPerClient: 2 },
    { scheme: 'shards', numShards: 200, shardsPerClient: 3 },
  ];
  for (const c of configs) t.same(parsePartitionSpec(formatPartitionSpec(c)), c, formatPartitionSpec(c));
  t.equal(formatPartitionSpec({ scheme: 'dirichlet-equal', alpha: 0.3 }), 'dirichlet-equal:0.3');
  t.equal(formatPartitionSpec({ scheme: 'iid' }), 'iid');
  t.equal(formatPartitionSpec({ scheme: 'classes', classesPerClient: 2 }), 'classes:2');
  t.equal(formatPartitionSpec({ scheme: 'shards', numShards: 200 }), 'shards:200');
  t.equal(formatPartitionSpec({ balance: true, minSize: 5, alpha: 0.5, scheme: 'dirichlet' }), 'dirichlet:0.5,minSize=5,balance=true');
  t.equal(formatPartitionSpec({ scheme: 'iid', samplesPerClient: 100 }), 'iid,samplesPerClient=100');
  t.throws(() => formatPartitionSpec({ scheme: 'dirichlet' }), /partition: dirichlet needs δ \(alpha\)/);
});

t.test('malformed strings: FedmanErrors naming the spec, the field and the rule', async (t) => {
  const cases: [string, string][] = [
    ['dirichlet-equal:x', "partition 'dirichlet-equal:x': alpha must be a positive number"],
    ['dirichlet-equal:', "partition 'dirichlet-equal:': alpha must be a positive number"],
    ['dirichlet:-0.5', "partition 'dirichlet:-0.5': alpha must be a positive number"],
    ['dirichlet:0.3:5', "partition 'dirichlet:0.3:5': alpha must be a positive number"],
    ['dirichlet', "partition 'dirichlet': dirichlet needs δ (alpha), e.g. dirichlet:0.3"],
    ['dirichlet-equal,minSize=3', "partition 'dirichlet-equal,minSize=3': dirichlet-equal needs δ (alpha), e.g. dirichlet-equal:0.3"],
    ['classes', "partition 'classes': classes needs the classes per client (classesPerClient), e.g. classes:2"],
    ['classes:1.5', "partition 'classes:1.5': classesPerClient must be an integer ≥ 1"],
    ['shards', "partition 'shards': shards needs the number of shards (numShards), e.g. shards:200"],
    ['shards:0', "partition 'shards:0': numShards must be an integer ≥ 1"],
    ['shards:200,shardsPerClient=two', "partition 'shards:200,shardsPerClient=two': shardsPerClient must be an integer ≥ 1"],
    ['dirichlet:0.5,balance=1', "partition 'dirichlet:0.5,balance=1': balance must be true or false"],
    ['dirichlet:0.5,minSize=-1', "partition 'dirichlet:0.5,minSize=-1': minSize must be an integer ≥ 0"],
    ['iid:5', "partition 'iid:5': iid takes no ':' value (options go after commas, e.g. iid,samplesPerClient=100)"],
    ['iid,size=5', "partition 'iid,size=5': unknown field 'size' (fields: scheme, alpha, samplesPerClient, minSize, maxTries, balance, classesPerClient, numShards, shardsPerClient)"],
    ['iid,samplesPerClient', "partition 'iid,samplesPerClient': expected field=value after a comma, got 'samplesPerClient'"],
    ['dirichlet:0.5,alpha=0.3', "partition 'dirichlet:0.5,alpha=0.3': alpha is given twice"],
    ['zipf:1', "partition 'zipf:1': unknown scheme 'zipf' (use iid, dirichlet-equal:<δ>, dirichlet:<δ>, classes:<k> or shards:<n>)"],
    ['', "partition '': unknown scheme '' (use iid, dirichlet-equal:<δ>, dirichlet:<δ>, classes:<k> or shards:<n>)"],
  ];
  for (const [spec, message] of cases) t.throws(() => parsePartitionSpec(spec), { name: 'FedmanError', message }, spec);
  t.throws(() => parsePartitionSpec('classes:0', 'config a.json partition'), { message: "config a.json partition 'classes:0': classesPerClient must be an integer ≥ 1" });
});

t.test('malformed objects: FedmanErrors naming the field and the value', async (t) => {
  const cases: [unknown, string][] = [
    [{ scheme: 'dirichlet-equal', alpha: 'x' }, 'partition: alpha must be a positive number, got "x"'],
    [{ scheme: 'dirichlet', alpha: 0 }, 'partition: alpha must be a positive number, got 0'],
    [{ scheme: 'dirichlet' }, 'partition: dirichlet needs δ (alpha), e.g. dirichlet:0.3'],
    [{ scheme: 'classes', classesPerClient: 2.5 }, 'partition: classesPerClient must be an integer ≥ 1, got 2.5'],
    [{ scheme: 'dirichlet', alpha: 1, balance: 'no' }, 'partition: balance must be true or false, got "no"'],
    [{ scheme: 'iid', size: 3 }, "partition: unknown field 'size' (fields: scheme, alpha, samplesPerClient, minSize, maxTries, balance, classesPerClient, numShards, shardsPerClient)"],
    [{ scheme: 'zipf' }, "partition: unknown scheme 'zipf' (use iid, dirichlet-equal, dirichlet, classes or shards)"],
    [{ scheme: 3 }, 'partition: unknown scheme 3 (use iid, dirichlet-equal, dirichlet, classes or shards)'],
    [{ alpha: 0.3 }, 'partition: scheme is required (iid, dirichlet-equal, dirichlet, classes or shards)'],
    [7, "partition must be a string such as 'dirichlet-equal:0.3' or an object {scheme, …}, got 7"],
    [null, "partition must be a string such as 'dirichlet-equal:0.3' or an object {scheme, …}, got null"],
    [['iid'], `partition must be a string such as 'dirichlet-equal:0.3' or an object {scheme, …}, got ["iid"]`],
  ];
  for (const [spec, message] of cases) t.throws(() => parsePartitionSpec(spec), new FedmanError(message), JSON.stringify(spec));
});
