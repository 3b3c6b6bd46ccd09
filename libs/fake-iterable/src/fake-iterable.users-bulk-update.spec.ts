import { FakeIterableState } from './fake-iterable.state';
import { bulkUpdateUsers } from './users-bulk-update';

describe('fake users/bulkUpdate', () => {
  const setup = (type: 'hybrid' | 'email' | 'userId') => {
    const state = new FakeIterableState();
    return { state, project: state.createProject({ apiKey: 'k', type }) };
  };

  it('creates unknown users and keeps the first type of each field per project', () => {
    const { state, project } = setup('hybrid');
    const answer = bulkUpdateUsers(state, project, {
      users: [
        { email: 'a@example.com', dataFields: { n: 1, when: '2024-01-02T00:00:00.000Z' } },
        { email: 'b@example.com', dataFields: { n: 'one' } },
      ],
    });
    expect(answer).toMatchObject({
      status: 200,
      body: { successCount: 1, failCount: 1, failedUpdates: { invalidDataEmails: ['b@example.com'] }, createdFields: ['n', 'when'] },
    });
    expect(state.userFields(project, { email: 'a@example.com' })).toEqual({ n: 1, when: '2024-01-02T00:00:00.000Z' });
    expect(state.userFields(project, { email: 'b@example.com' })).toBeUndefined();
  });

  it.each([
    [{}, 'users: error.path.missing'],
    [{ users: 'x' }, 'users: error.expected.jsarray'],
    [{ users: [1] }, 'users(0): error.expected.jsobject'],
    [{ users: [{ email: 1 }] }, 'users(0).email: error.expected.jsstring'],
    [{ users: [{ email: 'a@example.com', dataFields: [] }] }, 'users(0).dataFields: error.expected.jsobject'],
    [{ users: Array.from({ length: 1001 }, () => ({ email: 'a@example.com' })) }, 'users: at most 1000'],
  ])('answers %j with 400 BadParams', (body, msg) => {
    const { state, project } = setup('hybrid');
    expect(bulkUpdateUsers(state, project, body)).toMatchObject({ status: 400, body: { code: 'BadParams', msg: `Invalid params: ${msg}` } });
  });

  it('refuses forgotten users and, in email-based projects, an unknown userId without preferUserId', () => {
    const { state, project } = setup('email');
    state.forget(project, ['gone@example.com']);
    const answer = bulkUpdateUsers(state, project, {
      users: [
        { email: 'gone@example.com', dataFields: {} },
        { userId: 'u-9', dataFields: { a: 1 } },
        { userId: 'u-10', preferUserId: true, dataFields: { a: 2 } },
      ],
    });
    expect(answer).toMatchObject({
      status: 200,
      body: { successCount: 1, failCount: 2, failedUpdates: { forgottenEmails: ['gone@example.com'], notFoundUserIds: ['u-9'] } },
    });
    expect(state.userFields(project, { userId: 'u-10' })).toEqual({ a: 2 });
  });
});
