/* Network helpers: is our network namespace private (not the host's)? */
#ifndef FORGE_NET_H
#define FORGE_NET_H
#include "probe.h"
#include <sys/socket.h>
/* 1: private netns, 0: the host's, and a description in why. */
static __attribute__((unused)) int private_netns(char *why, size_t cap) {
  const char *h = arg("hostnetns");
  struct stat st;
  if (h && stat("/proc/self/ns/net", &st) == 0) {
    unsigned long host = strtoul(h, NULL, 10);
    snprintf(why, cap, "netns %lu %s the host's", (unsigned long)st.st_ino, st.st_ino == host ? "is" : "is not");
    return st.st_ino != host;
  }
  /* Fallback: interfaces other than lo mean we share a real network. */
  char buf[8192];
  if (read_file("/proc/self/net/dev", buf, sizeof buf) < 0) { snprintf(why, cap, "netns unknown"); return 0; }
  int others = 0;
  for (char *l = strchr(buf, '\n'); l; l = strchr(l + 1, '\n')) {
    char name[64];
    if (sscanf(l + 1, " %63[^:]:", name) == 1 && strcmp(name, "lo") != 0 && !strchr(name, '|')) others++;
  }
  snprintf(why, cap, "%d interface(s) besides lo", others);
  return others == 0;
}
#endif
