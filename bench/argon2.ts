/** How long one Argon2id hash (and verify) takes here with Parley's parameters. */
import { ARGON2, hashPassword, verifyPassword } from '../server/auth/passwords';

const runs = 20;
await hashPassword('warm-up-password');
const hashTimes: number[] = [];
const verifyTimes: number[] = [];
let hash = '';
for (let i = 0; i < runs; i++) {
  let t = performance.now();
  hash = await hashPassword(`password-${i}-${crypto.randomUUID()}`);
  hashTimes.push(performance.now() - t);
  t = performance.now();
  await verifyPassword('wrong', hash);
  verifyTimes.push(performance.now() - t);
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`Argon2id m=${ARGON2.memoryCost} KiB t=${ARGON2.timeCost} p=1 (${hash.split('$').slice(1, 4).join('$')})`);
console.log(`hash:   median ${median(hashTimes).toFixed(1)} ms over ${runs}`);
console.log(`verify: median ${median(verifyTimes).toFixed(1)} ms over ${runs}`);
