// Jest reads `testTimeout` from the root configuration only, so a project sets its own default here:
// end-to-end tests start processes and wait for them, which takes seconds on a busy machine.
jest.setTimeout(60_000);
