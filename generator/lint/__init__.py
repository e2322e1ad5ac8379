"""gen-ci lint: Docker-hardening audit of any .gitlab-ci.yml, hand-written ones included."""
