# Sourced by the scripts: make (once) and enter a virtualenv with taskvisor installed.
# usage: venv_for PYTHON DIR EXTRAS
venv_for() {
    local python="$1" dir="$2" extras="$3"
    if [ ! -x "$dir/bin/python" ]; then
        "$python" -m venv "$dir"
    fi
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -e ".${extras}"
}
