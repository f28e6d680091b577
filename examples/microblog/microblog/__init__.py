"""microblog: a small 12-factor web app (Heroku/Railway conventions, nothing specific to any host)."""
