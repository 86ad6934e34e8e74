// A compute kernel: Mandelbrot iterations over a grid, returns a checksum.
__attribute__((export_name("kernel"))) int kernel(int size) {
  int sum = 0;
  for (int y = 0; y < size; y++) {
    for (int x = 0; x < size; x++) {
      double cr = 2.0 * x / size - 1.5, ci = 2.0 * y / size - 1.0, zr = 0, zi = 0;
      int i = 0;
      while (i < 200 && zr * zr + zi * zi < 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        i++;
      }
      sum += i;
    }
  }
  return sum;
}

// Call overhead: an export that does nothing but return its argument.
__attribute__((export_name("nop"))) int nop(int x) { return x; }
