"""Who someone is: passwords, sessions, tokens, second factors."""
