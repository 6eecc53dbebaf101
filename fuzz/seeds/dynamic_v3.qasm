OPENQASM 3.0;
include "stdgates.inc";
bit[2] c;
bit[1] flag;
qubit[3] q;
h q[0];
cx q[0], q[1];
c[0] = measure q[0];
reset q[0];
flag[0] = measure q[1];
if (flag == 1) {
  x q[2];
}
if (flag == 1) {
  rz(pi/4) q[2];
}
if (c == 1) {
  h q[0];
}
c[1] = measure q[0];
c[0] = measure q[2];
