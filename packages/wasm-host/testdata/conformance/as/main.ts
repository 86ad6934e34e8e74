// AssemblyScript with @assemblyscript/wasi-shim: argv, environment, clocks, random,
// exit codes and stdio, the parts of WASI the shim's process/console/crypto/Date
// bindings use. The case is argv[1].
// biome-ignore-all lint/suspicious/noDoubleEquals: AssemblyScript compares strings by value with ==
// biome-ignore-all lint/style/useTemplate: kept to the string operations AssemblyScript compiles plainly

function cmpStr(a: string, b: string): i32 {
  return a < b ? -1 : a > b ? 1 : 0;
}

function main(): void {
  const argv = process.argv;
  const which = argv.length > 1 ? argv[1] : "";
  if (which == "args") {
    console.log("argc: " + argv.length.toString());
    for (let i = 0; i < argv.length; i++) console.log("argv[" + i.toString() + "] = " + argv[i]);
  } else if (which == "env") {
    const keys = process.env.keys();
    keys.sort(cmpStr);
    for (let i = 0; i < keys.length; i++) console.log(keys[i] + "=" + process.env.get(keys[i]));
    console.log("has HOME: " + process.env.has("HOME").toString());
  } else if (which == "clocks") {
    const t0 = process.hrtime();
    const d = Date.now();
    console.log("realtime after 2020: " + (d > 1577836800000).toString());
    const p0 = performance.now();
    let x: u64 = 0;
    for (let i = 0; i < 1000000; i++) x += <u64>i;
    const t1 = process.hrtime();
    console.log("monotonic advances: " + (t1 >= t0).toString() + " " + (x > 0).toString());
    console.log("performance.now advances: " + (performance.now() >= p0).toString());
    console.log(
      "process.time close to Date.now: " + (Math.abs(<f64>(process.time() - d)) < 60000).toString(),
    );
  } else if (which == "random") {
    const a = new Uint8Array(64);
    const b = new Uint8Array(64);
    crypto.getRandomValues(a);
    crypto.getRandomValues(b);
    let same = 0;
    let nonzero = 0;
    for (let i = 0; i < 64; i++) {
      if (a[i] == b[i]) same++;
      if (a[i] != 0) nonzero++;
    }
    console.log(
      "buffers differ: " +
        (same < 64).toString() +
        ", mostly nonzero: " +
        (nonzero > 32).toString(),
    );
    const r = Math.random();
    console.log("Math.random in [0,1): " + (r >= 0 && r < 1).toString());
  } else if (which == "exit") {
    console.log("exiting with " + argv[2]);
    console.error("to stderr");
    process.exit(I32.parseInt(argv[2]));
  } else if (which == "stdio") {
    const buf = new ArrayBuffer(4096);
    let used = 0;
    for (;;) {
      const n = process.stdin.read(buf, used);
      if (n <= 0) break;
      used += n;
    }
    const text = String.UTF8.decode(buf.slice(0, used));
    process.stdout.write("got " + text.length.toString() + " chars: " + text.toUpperCase());
    process.stderr.write("stderr line\n");
    console.info("info");
    console.warn("warn");
    console.error("error");
  } else if (which == "abort") {
    console.log("before abort");
    assert(false, "deliberate");
  } else {
    console.error("unknown case " + which);
    process.exit(2);
  }
}

main();
