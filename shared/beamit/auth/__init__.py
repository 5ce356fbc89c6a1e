"""Who is calling: credentials (API keys, OAuth tokens), principals and scopes."""
