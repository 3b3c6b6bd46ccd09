import { Logger } from '@nestjs/common';
import { optionsFromEnv } from './fake-iterable.options';
import { startFakeIterable } from './fake-iterable.server';

const logger = new Logger('FakeIterable');

async function main(): Promise<void> {
  const fake = await startFakeIterable(optionsFromEnv(process.env));
  logger.log(`fake Iterable listening on ${fake.url} (US: ${fake.url}/api/..., EU: ${fake.url}/eu/api/..., control: ${fake.url}/_fake/...)`);
  const stop = (): void => {
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
