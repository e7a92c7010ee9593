/**
 * Reads Playwright's JSON report for scripts/test.ts: the counts, and the titles of the
 * tests that failed and then passed on a retry (flaky), so those are named, not hidden.
 */
import { readFileSync } from 'node:fs';

interface ReportSuite {
  title: string;
  suites?: ReportSuite[];
  specs?: { title: string; tests: { status: string }[] }[];
}

export interface E2eResult {
  /** Passed, flaky ones included: they did pass in the end. */
  passed: number;
  failed: number;
  skipped: number;
  /** "file › describe › title" of each flaky test. */
  flaky: string[];
}

/** The titles of the tests Playwright marked flaky. */
function flakyTitles(suites: ReportSuite[], path: string[] = []): string[] {
  const found: string[] = [];
  for (const suite of suites) {
    // The top-level suite is the file; nested ones are describe() blocks.
    const here = suite.title ? [...path, suite.title] : path;
    for (const spec of suite.specs ?? []) {
      if (spec.tests.some((t) => t.status === 'flaky')) found.push([...here, spec.title].join(' › '));
    }
    found.push(...flakyTitles(suite.suites ?? [], here));
  }
  return found;
}

export function readE2eReport(path: string): E2eResult {
  const report = JSON.parse(readFileSync(path, 'utf8')) as { stats: Record<string, number>; suites?: ReportSuite[] };
  const { expected = 0, unexpected = 0, skipped = 0, flaky = 0 } = report.stats;
  const titles = flakyTitles(report.suites ?? []);
  // The count comes from the stats; should the walk miss a title, say so rather than drop it.
  for (let i = titles.length; i < flaky; i++) titles.push('(a flaky test whose title is not in the report)');
  return { passed: expected + flaky, failed: unexpected, skipped, flaky: titles };
}

if (import.meta.main) console.log(readE2eReport(process.argv[2]!));
