#!/usr/bin/env python3
# check_layers.py NM LIB...: the layers as the build makes them
# (docs/ARCHITECTURE.md), given bottom first. No library may need a symbol
# that only a library above it defines: such a call goes the wrong way
# (the runtime calling a service, say), and the lower library would not
# link alone.
import subprocess
import sys

UNDEFINED = {'U', 'w', 'v'}  # weak undefined ones too


def symbols(nm, lib):
    """The external symbols lib defines, and those it needs from elsewhere."""
    out = subprocess.run([nm, '-P', '-g', lib], capture_output=True,
                         text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or line.endswith(':'):
            continue  # an archive member's heading
        (undefined if parts[1] in UNDEFINED else defined).add(parts[0])
    return defined, undefined - defined


def main():
    if len(sys.argv) < 4:
        print('usage: check_layers.py NM LIB LIB...', file=sys.stderr)
        return 2
    nm, libs = sys.argv[1], sys.argv[2:]
    layers = [(lib,) + symbols(nm, lib) for lib in libs]
    failed = 0
    for i, (lib, defined, needed) in enumerate(layers):
        if not defined:
            print('%s: no symbols read' % lib)
            return 1
        wrong = 0
        for upper, upper_defined, _ in layers[i + 1:]:
            for name in sorted(needed & upper_defined):
                print('%s needs %s, which only %s defines' % (lib, name, upper))
                wrong += 1
        print('%s: %d symbols defined, %d needed from outside, %d of them '
              'from above' % (lib, len(defined), len(needed), wrong))
        failed += wrong
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
