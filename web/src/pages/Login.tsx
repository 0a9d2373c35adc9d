// The sign-in form posts to the server (not fetch): the server checks the token and sets the
// HttpOnly cookie, so no script ever holds the token.

const ERRORS: Record<string, string> = {
  empty: "Enter your modelwatch token.",
  invalid: "That token is not valid.",
};

export function LoginView() {
  const params = new URLSearchParams(window.location.search);
  const error = ERRORS[params.get("error") ?? ""];
  return (
    <main className="login">
      <h1>modelwatch</h1>
      <form method="post" action="/login">
        <input type="hidden" name="next" value={params.get("next") ?? "/"} />
        <label htmlFor="token">Token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" autoFocus />
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
