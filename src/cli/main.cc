#include "cli/app.h"

int main(int argc, char** argv) {
  return stagecraft::cli::Main(argc, argv);
}
