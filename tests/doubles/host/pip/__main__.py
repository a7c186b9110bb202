# TEST DOUBLE of `python3 -m pip`, found first when this directory's parent is on
# PYTHONPATH: `install` records the packages under $STAGECRAFT_DOUBLE_STATE/pip and
# reports them installed, without reaching a package index; `list` and `show` read them back.
import os
import sys

state = os.path.join(os.environ.get("STAGECRAFT_DOUBLE_STATE", "/tmp/stagecraft-doubles"), "pip")
args = sys.argv[1:]
quiet = any(a in ("-q", "--quiet") for a in args)
names = [a for a in args[1:] if not a.startswith("-")]
if not args:
    print("Usage: python3 -m pip <command> [options]")
    sys.exit(1)
if args[0] == "install":
    os.makedirs(state, exist_ok=True)
    for name in names:
        package = name.split("==")[0].split(">=")[0]
        version = name.split("==")[1] if "==" in name else "2.9.9"
        open(os.path.join(state, package), "w").write(version + "\n")
    if not quiet:
        print("Successfully installed " + " ".join(
            f"{n.split('==')[0]}-{n.split('==')[1] if '==' in n else '2.9.9'}" for n in names))
elif args[0] in ("list", "freeze"):
    for package in sorted(os.listdir(state)) if os.path.isdir(state) else []:
        print(f"{package}=={open(os.path.join(state, package)).read().strip()}")
elif args[0] == "show":
    for name in names:
        path = os.path.join(state, name)
        if not os.path.exists(path):
            print(f"WARNING: Package(s) not found: {name}", file=sys.stderr)
            sys.exit(1)
        print(f"Name: {name}\nVersion: {open(path).read().strip()}")
else:
    print(f"pip double: unsupported command '{args[0]}'", file=sys.stderr)
    sys.exit(1)
