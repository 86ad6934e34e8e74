// Instantiate cost: a command that does nothing.
int main(void) { return 0; }
