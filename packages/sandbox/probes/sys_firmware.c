/* /sys/firmware exposes ACPI tables, EFI variables, DMI (Docker masks it).
 * SAFE: absent, unreadable or empty. */
#include "probe.h"
int main(void) {
  DIR *d = opendir("/sys/firmware");
  if (!d) SAFE("/sys/firmware: %s", ename(errno));
  struct dirent *e;
  char names[300] = "";
  int n = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    n++;
    size_t k = strlen(names);
    if (k < sizeof names - 40) snprintf(names + k, sizeof names - k, "%s%s", k ? "," : "", e->d_name);
  }
  closedir(d);
  if (n) UNSAFE("/sys/firmware readable: %s", names);
  SAFE("/sys/firmware empty (masked)");
}
