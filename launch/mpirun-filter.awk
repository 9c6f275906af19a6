# Keeps mpirun's stderr to what a user needs (launch/local.sh pipes it through here). Our own
# `error:` line already says what went wrong, so the banners about "a non-zero exit code" are
# dropped; the line naming a rank that died on a signal is kept.
/^-+$/ { next }
/^mpirun: Forwarding signal/ { next }
/Primary job +terminated normally/ { skip = "exit"; next }
/mpirun detected that one or more processes exited with non-zero status/ { skip = "first"; next }
skip == "exit" { if (/non-zero exit code/) skip = ""; next }
skip == "first" { if (/Exit code:/) skip = ""; next }
{ print; fflush() }
