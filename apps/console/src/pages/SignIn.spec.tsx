import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { tokenStore } from '../api';
import { installFakeFetch } from '../testing/fake-fetch';
import { SignIn } from './SignIn';

describe('SignIn', () => {
  beforeEach(() => sessionStorage.clear());

  it('keeps a token the API accepts in session storage only, and says nothing of it in the URL', async () => {
    const calls = installFakeFetch(({ headers }) =>
      headers['authorization'] === 'Bearer good-token-0123456789' ? { status: 200, body: {} } : { status: 401, body: {} },
    );
    const onSignedIn = jest.fn();
    render(<SignIn onSignedIn={onSignedIn} />);
    fireEvent.change(screen.getByLabelText('Admin token'), { target: { value: ' good-token-0123456789 ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(onSignedIn).toHaveBeenCalled());
    expect(tokenStore.get()).toBe('good-token-0123456789');
    expect(localStorage.length).toBe(0);
    expect(calls[0].url).toBe('/v1/stats');
    expect(window.location.href).not.toContain('good-token');
  });

  it('keeps nothing and says why when the token is refused', async () => {
    installFakeFetch(() => ({ status: 401, body: { statusCode: 401 } }));
    const onSignedIn = jest.fn();
    render(<SignIn onSignedIn={onSignedIn} notice="Signed out." />);
    expect(screen.getByRole('status').textContent).toContain('Signed out.');
    fireEvent.change(screen.getByLabelText('Admin token'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toContain('That token was refused.');
    expect(onSignedIn).not.toHaveBeenCalled();
    expect(tokenStore.get()).toBeNull();
  });

  it('asks for a token before calling the API', async () => {
    const calls = installFakeFetch(() => ({ status: 200 }));
    render(<SignIn onSignedIn={() => undefined} />);
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Enter the admin token');
    expect(calls).toHaveLength(0);
  });
});
